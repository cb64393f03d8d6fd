"""The demo ERP builder: determinism, the planted faults, GS1 codes, FK integrity, all three databases.

PostgreSQL and MariaDB tests use the servers at ERP_OUTBOUND_TEST_POSTGRES / ERP_OUTBOUND_TEST_MARIADB
(as in conftest.py; defaults: the local test servers). They fail when a server is unreachable, never skip.
Each run works in its own schema / database, dropped afterwards.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import uuid
from collections import Counter
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from demo_more_checks import check_more_against_summary

from erp_outbound_tools.demo import erp as demo
from erp_outbound_tools.demo import erp_more as demo_more
from erp_outbound_tools.demo.erp import (
    ANCHOR,
    DOCUMENT_TYPES,
    INACTIVE_GLN_PREFIX,
    RECEIVER_COLUMN,
    UNKNOWN_GLN_PREFIX,
    build_demo_erp,
    demo_tables,
    gs1_check_digit,
    gs1_valid,
)

# the variables tests/conftest.py reads, then this module's older names, then the local test servers
PG_URL = (os.environ.get("ERP_OUTBOUND_TEST_POSTGRES") or os.environ.get("ERP_OUTBOUND_TEST_PG_URL")
          or "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
MYSQL_URL = (os.environ.get("ERP_OUTBOUND_TEST_MARIADB") or os.environ.get("ERP_OUTBOUND_TEST_MYSQL_URL")
             or "mysql+pymysql://root@127.0.0.1:3306/test")

DOCS = 3000
CURRENCY = re.compile(r"^[A-Z]{3}$")


# --------------------------------------------------------------------------- helpers


def _rows(url: str, table: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            t = sa.Table(table, sa.MetaData(), autoload_with=conn)
            order = [c for c in t.primary_key.columns] or list(t.columns)
            return [tuple(r) for r in conn.execute(sa.select(t).order_by(*order))]
    finally:
        engine.dispose()


def _scalar(conn: sa.Connection, sql: str, **params):
    return conn.execute(sa.text(sql), params).scalar()


def _classify(conn: sa.Connection) -> dict[str, dict]:
    """Independently of the builder: each document's unbuildable reasons and expected outcome."""
    out: dict[str, dict] = {}
    for doc_type, (table, lines, fk, _prefix) in DOCUMENT_TYPES.items():
        receiver = RECEIVER_COLUMN[doc_type]
        has_currency = table != "shipping_notices"
        currency = "d.currency" if has_currency else "NULL"
        rows = conn.execute(sa.text(f"""
            SELECT d.id, {currency} AS currency, p.gln, p.vat_id, p.duns,
                   (SELECT COUNT(*) FROM {lines} l JOIN products pr ON pr.id = l.product_id
                     WHERE l.{fk} = d.id AND pr.gtin IS NULL) AS gtinless
              FROM {table} d JOIN partners p ON p.id = d.{receiver}
        """)).all()
        outcomes: Counter = Counter()
        reasons: Counter = Counter()
        multi = []
        for doc_id, cur, gln, vat, duns, gtinless in rows:
            found = []
            if gtinless:
                found.append(demo.MISSING_GTIN)
            if gln is None and vat is None and duns is None:
                found.append(demo.PARTNER_WITHOUT_IDENTIFIER)
            if cur is not None and not CURRENCY.match(cur):
                found.append(demo.INVALID_CURRENCY)
            if len(found) > 1:
                multi.append((doc_id, found))
            if found:
                reasons[found[0]] += 1
                outcomes["BUILD_ERROR"] += 1
            elif gln.startswith(INACTIVE_GLN_PREFIX):
                outcomes["NO_ACTION"] += 1
            elif gln.startswith(UNKNOWN_GLN_PREFIX):
                outcomes["REJECTED"] += 1
            else:
                outcomes["TRANSMITTED"] += 1
        out[doc_type] = {"count": len(rows), "outcomes": outcomes, "reasons": reasons, "multi": multi}
    return out


def _check_against_summary(url: str, summary: dict) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            for table, n in summary["tables"].items():
                assert _scalar(conn, f"SELECT COUNT(*) FROM {table}") == n, table
            found = _classify(conn)
            check_more_against_summary(conn, summary)  # the seven later types
    finally:
        engine.dispose()
    totals: Counter = Counter()
    reasons: Counter = Counter()
    for doc_type, info in found.items():
        assert info["multi"] == [], f"{doc_type}: documents with more than one fault"
        assert info["count"] == summary["documents_by_type"][doc_type]
        expected = {k: v for k, v in summary["expected_outcomes_by_type"][doc_type].items() if v}
        assert dict(info["outcomes"]) == expected, doc_type
        assert {k: v for k, v in summary["unbuildable_by_type"][doc_type].items() if v} == dict(info["reasons"])
        totals.update(info["outcomes"])
        reasons.update(info["reasons"])
    five = list(DOCUMENT_TYPES)
    expected = sum((Counter(summary["expected_outcomes_by_type"][t]) for t in five), Counter())
    assert +expected == totals
    assert +sum((Counter(summary["unbuildable_by_type"][t]) for t in five), Counter()) == reasons
    every = sum((Counter(v) for v in summary["expected_outcomes_by_type"].values()), Counter())
    assert {k: v for k, v in summary["expected_outcomes"].items() if v} == +every


def _norm(value):
    if isinstance(value, (Decimal, float)):
        return round(float(value), 4)
    if isinstance(value, bool):
        return int(value)
    return value


INCOTERMS_2020 = {"EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF"}
#: column -> minimum value, as documented for PUT procurement/orders (seed 002)
RAMBASE_MINIMUMS = {"purchase_order_id": 100000, "location_id": 10000, "assignee_user_id": 100, "supplier_id": 100,
                    "ship_from_address_id": 1, "shipping_service_id": 100000}
RAMBASE_OPTIONAL = ("suppliers_reference", "suppliers_reference_number", "currency", "note", "ship_to_attention",
                    "location_id", "assignee_user_id", "supplier_id", "ship_from_address_id", "delivery_terms",
                    "delivery_term_place", "shipping_service_id", "payment_terms")
INTEGRATION_TABLES = ("rambase_po_updates", "rambase_invoice_matches", "gep_por_statuses")


def _mappings(conn: sa.Connection, table: str) -> list[dict]:
    return [dict(r) for r in conn.execute(sa.text(f"SELECT * FROM {table} ORDER BY id")).mappings()]


def _po_update_faults(row: dict) -> list[str]:
    """The documented constraints ``row`` of rambase_po_updates breaks."""
    faults = [c for c, low in RAMBASE_MINIMUMS.items() if row[c] is not None and row[c] < low]
    if row["currency"] is not None and not CURRENCY.match(row["currency"]):
        faults.append("currency")
    if row["delivery_terms"] is not None and row["delivery_terms"] not in INCOTERMS_2020:
        faults.append("delivery_terms")
    return faults


def _classify_integration(conn: sa.Connection) -> dict[str, dict]:
    """Independently of the builder: the expected outcome of every row of the RamBase and GEP tables."""
    po: Counter = Counter()
    by_field: Counter = Counter()
    for row in _mappings(conn, "rambase_po_updates"):
        faults = _po_update_faults(row)
        assert len(faults) <= 1, (row, faults)  # one fault per row
        po_id = row["purchase_order_id"]
        if faults:
            by_field[faults[0]] += 1
            po["BUILD_ERROR"] += 1
        elif 190000 <= po_id <= 199999 or 170000 <= po_id <= 170999:  # 404 Product not found, 403 duty
            po["REJECTED"] += 1
        elif 180000 <= po_id <= 189999:
            assert row["currency"] in ("EUR", "USD"), row
            po["REJECTED" if row["currency"] == "EUR" else "SYNCED"] += 1  # 400 108018 Currency mismatch
        else:
            assert 100000 <= po_id <= 149999, row
            po["SYNCED"] += 1
    matches: Counter = Counter()
    unmatched = 0
    for row in _mappings(conn, "rambase_invoice_matches"):
        response, invoice = row["purchase_order_response_id"], row["supplier_invoice_id"]
        if invoice is None:
            unmatched += 1
        elif invoice < 100000 or response < 100000:
            matches["BUILD_ERROR"] += 1
        elif 160000 <= response <= 168999:  # 7 after polls (160000..167999) or at once (168000..168999)
            matches["ERROR"] += 1
        else:
            matches["FORWARDED"] += 1
    gep: Counter = Counter()
    for row in _mappings(conn, "gep_por_statuses"):
        key = row["order_number"]
        if not key:
            gep["BUILD_ERROR"] += 1  # Key is mandatory
        elif key.startswith("X"):
            gep["ERRORED"] += 1  # Invalid Order Number
        else:
            assert re.fullmatch(r"48\d{8}", key), key
            gep["ACKNOWLEDGED"] += 1
    return {"rambase_po_updates": {"expected": po, "build_errors_by_field": by_field},
            "rambase_invoice_matches": {"expected": matches, "unmatched": unmatched},
            "gep_por_statuses": {"expected": gep}}


def _nonzero(d: dict) -> dict:
    return {k: v for k, v in d.items() if v}


def _check_integration(url: str, summary: dict) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            found = _classify_integration(conn)
            for table in INTEGRATION_TABLES:
                assert _scalar(conn, f"SELECT COUNT(*) FROM {table}") == summary[table]["rows"] == \
                    summary["tables"][table], table
            # all pending, nothing claimed or sent yet
            assert _scalar(conn, """SELECT COUNT(*) FROM rambase_po_updates WHERE rambase_status IS NOT NULL
                OR rambase_error IS NOT NULL OR rambase_error_id IS NOT NULL OR attempts <> 0
                OR last_attempt_at IS NOT NULL""") == 0
            assert _scalar(conn, """SELECT COUNT(*) FROM rambase_invoice_matches WHERE forward_status IS NOT NULL
                OR operation_instance_id IS NOT NULL OR operation_requested_at IS NOT NULL
                OR rambase_error IS NOT NULL OR rambase_error_id IS NOT NULL OR attempts <> 0
                OR last_attempt_at IS NOT NULL""") == 0
            assert _scalar(conn, """SELECT COUNT(*) FROM gep_por_statuses WHERE ack_status IS NOT NULL
                OR ack_errors IS NOT NULL OR attempts <> 0 OR last_attempt_at IS NOT NULL""") == 0
    finally:
        engine.dispose()
    for table in INTEGRATION_TABLES:
        assert _nonzero(summary[table]["expected"]) == dict(found[table]["expected"]), table
    po = summary["rambase_po_updates"]
    assert _nonzero(po["build_errors_by_field"]) == dict(found["rambase_po_updates"]["build_errors_by_field"])
    assert sum(po["build_errors_by_field"].values()) == po["expected"]["BUILD_ERROR"]
    assert sum(po["rejected_by_reason"].values()) == po["expected"]["REJECTED"]
    matches = summary["rambase_invoice_matches"]
    assert matches["unmatched"] == found["rambase_invoice_matches"]["unmatched"]
    assert sum(matches["expected"].values()) + matches["unmatched"] == matches["rows"]
    assert sum(matches["cases"].values()) == matches["expected"]["FORWARDED"] + matches["expected"]["ERROR"]
    for table in ("rambase_po_updates", "gep_por_statuses"):
        assert sum(summary[table]["expected"].values()) == summary[table]["rows"], table


# --------------------------------------------------------------------------- SQLite


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "erp.db"
    url = f"sqlite:///{path}"
    summary = build_demo_erp(url, DOCS, seed=7)
    return url, summary


def test_gs1_check_digit_known_values():
    assert gs1_check_digit("400638133393") == "1"  # GTIN 4006381333931
    assert gs1_check_digit("629104150021") == "3"  # GTIN 6291041500213
    assert gs1_valid("4006381333931") and not gs1_valid("4006381333932")
    assert gs1_check_digit("10614141123456789") == "7"  # GS1 SSCC example (00) 106141411234567897


def test_schema_path_and_statements():
    assert demo.SCHEMA_PATH.is_file()
    assert demo.SCHEMA_PATH.parts[-3:] == ("include", "erp", "demo_schema.sql")
    tables = demo_tables()
    assert tables[0] == "partners"
    for table, lines, _fk, _prefix in DOCUMENT_TYPES.values():
        assert tables.index(table) < tables.index(lines)
    assert demo._split_sql("-- a; comment\nSELECT 'x;y' ; /* ; */ SELECT 2;") == ["SELECT 'x;y'", "SELECT 2"]


def test_summary_shape_and_type_split(built):
    _url, summary = built
    assert set(summary) >= {"tables", "documents_by_type", "unbuildable", "expected_outcomes"}
    by_type = summary["documents_by_type"]
    assert {t: by_type[t] for t in DOCUMENT_TYPES} == {"ORDER": 900, "ORDER_RESPONSE": 450, "SHIPPING_NOTICE": 600,
                                                       "INVOICE": 900, "CREDIT_NOTE": 150}
    assert sum(by_type[t] for t in DOCUMENT_TYPES) == DOCS
    assert {t: by_type[t] for t in demo_more.TYPES} == dict.fromkeys(demo_more.TYPES, round(DOCS * demo_more.SHARE))
    assert set(summary["expected_outcomes"]) == {"TRANSMITTED", "NO_ACTION", "REJECTED", "BUILD_ERROR"}
    assert sum(summary["expected_outcomes"].values()) == sum(by_type.values())
    for doc_type, (table, _lines, _fk, _p) in DOCUMENT_TYPES.items():
        assert summary["tables"][table] == by_type[doc_type]


def test_database_matches_summary(built):
    url, summary = built
    _check_against_summary(url, summary)


def test_unbuildable_share_and_reasons(built):
    _url, summary = built
    outcomes = sum((Counter(summary["expected_outcomes_by_type"][t]) for t in DOCUMENT_TYPES), Counter())
    bad = outcomes["BUILD_ERROR"]
    assert 0.04 * DOCS <= bad <= 0.06 * DOCS
    assert sum(summary["unbuildable"].values()) == summary["expected_outcomes"]["BUILD_ERROR"]
    assert set(summary["unbuildable"]) >= set(demo.UNBUILDABLE_REASONS)
    assert all(n > 0 for n in summary["unbuildable"].values()), summary["unbuildable"]
    for doc_type, reasons in summary["unbuildable_by_type"].items():
        assert sum(reasons.values()) > 0, doc_type  # spread over all types
    assert summary["unbuildable_by_type"]["SHIPPING_NOTICE"][demo.INVALID_CURRENCY] == 0  # no currency column
    for outcome in ("NO_ACTION", "REJECTED"):
        assert 0.02 * DOCS <= outcomes[outcome] <= 0.04 * DOCS


def test_faulty_master_data_is_used_only_by_faulty_documents(built):
    url, _summary = built
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        # GTIN-less products: about 1 %, only on missing-GTIN documents (checked by _classify: one reason)
        n_products = _scalar(conn, "SELECT COUNT(*) FROM products")
        gtinless = _scalar(conn, "SELECT COUNT(*) FROM products WHERE gtin IS NULL")
        assert 1 <= gtinless <= max(1, round(n_products * 0.02))
        # partners without any identifier: a few, addresses without GLN too
        noid = conn.execute(sa.text(
            "SELECT id FROM partners WHERE gln IS NULL AND vat_id IS NULL AND duns IS NULL")).scalars().all()
        assert 2 <= len(noid) <= 10
        assert "OWN" not in noid
        # special-prefix partners: all their GLNs (addresses too) carry the prefix
        for prefix in (INACTIVE_GLN_PREFIX, UNKNOWN_GLN_PREFIX):
            ids = conn.execute(sa.text("SELECT id FROM partners WHERE gln LIKE :p"),
                               {"p": prefix + "%"}).scalars().all()
            assert ids
            bad = _scalar(conn, "SELECT COUNT(*) FROM partner_addresses WHERE partner_id IN ("
                          + ",".join(f"'{i}'" for i in ids) + ") AND (gln IS NULL OR gln NOT LIKE :p)",
                          p=prefix + "%")
            assert bad == 0
        engine.dispose()


def test_gln_gtin_sscc_check_digits(built):
    url, _summary = built
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        glns = conn.execute(sa.text(
            "SELECT gln FROM partners WHERE gln IS NOT NULL UNION ALL "
            "SELECT gln FROM partner_addresses WHERE gln IS NOT NULL")).scalars().all()
        gtins = conn.execute(sa.text("SELECT gtin FROM products WHERE gtin IS NOT NULL")).scalars().all()
        ssccs = conn.execute(sa.text("SELECT package_id FROM shipping_notices")).scalars().all()
    engine.dispose()
    assert len(glns) == len(set(glns)), "GLNs must be unique"
    for gln in glns:
        assert len(gln) == 13 and gs1_valid(gln), gln
        if not gln.startswith((INACTIVE_GLN_PREFIX, UNKNOWN_GLN_PREFIX)):
            assert gln[:2] in ("40", "43"), gln
    normal = [g for g in glns if not g.startswith((INACTIVE_GLN_PREFIX, UNKNOWN_GLN_PREFIX))]
    assert len(normal) > 0.8 * len(glns)
    assert len(gtins) == len(set(gtins))
    for gtin in gtins:
        assert len(gtin) == 13 and gs1_valid(gtin), gtin
    for sscc in ssccs:
        assert len(sscc) == 18 and gs1_valid(sscc), sscc


def test_foreign_keys_and_references(built):
    url, _summary = built
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
        # PO deliveries go to our own warehouses; despatch advices to the customer's shipTo addresses
        assert _scalar(conn, """
            SELECT COUNT(*) FROM purchase_orders d LEFT JOIN partner_addresses a ON a.id = d.ship_to_id
             WHERE d.ship_to_id IS NOT NULL AND (a.id IS NULL OR a.partner_id <> 'OWN' OR a.role <> 'shipTo')
        """) == 0
        assert _scalar(conn, """
            SELECT COUNT(*) FROM shipping_notices d LEFT JOIN partner_addresses a ON a.id = d.ship_to_id
             WHERE d.ship_to_id IS NOT NULL AND (a.id IS NULL OR a.partner_id <> d.customer_id OR a.role <> 'shipTo')
        """) == 0
        assert _scalar(conn, "SELECT COUNT(*) FROM shipping_notices WHERE ship_to_id IS NULL") > 0
        assert _scalar(conn, """
            SELECT COUNT(*) FROM shipping_notices d JOIN partner_addresses a ON a.id = d.ship_to_id
             WHERE a.gln IS NULL""") == 0
        # receivers have the right kind and are enabled
        assert _scalar(conn, """SELECT COUNT(*) FROM purchase_orders d JOIN partners p ON p.id = d.supplier_id
                                 WHERE p.kind <> 'supplier' OR NOT p.is_enabled""") == 0
        for table in ("order_responses", "shipping_notices", "invoices", "credit_notes"):
            assert _scalar(conn, f"""SELECT COUNT(*) FROM {table} d JOIN partners p ON p.id = d.customer_id
                                      WHERE p.kind <> 'customer' OR NOT p.is_enabled""") == 0
        # every document has 1-8 lines numbered 1..n
        for table, lines, fk, _p in DOCUMENT_TYPES.values():
            stats = conn.execute(sa.text(f"""
                SELECT MIN(n), MAX(n), AVG(n), SUM(CASE WHEN mx <> n OR mn <> 1 THEN 1 ELSE 0 END)
                  FROM (SELECT d.id, COUNT(l.line_number) AS n, MAX(l.line_number) AS mx, MIN(l.line_number) AS mn
                          FROM {table} d LEFT JOIN {lines} l ON l.{fk} = d.id GROUP BY d.id) x""")).one()
            assert stats[0] >= 1 and stats[1] <= 8 and 3.5 <= stats[2] <= 5.5 and stats[3] == 0, table
        # credit notes reference an invoice of the same customer, or an older one from the year before
        assert _scalar(conn, """
            SELECT COUNT(*) FROM credit_notes c LEFT JOIN invoices i ON i.invoice_number = c.invoice_number
             WHERE (i.id IS NOT NULL AND (i.customer_id <> c.customer_id OR i.invoice_date >= c.credit_note_date))
                OR (i.id IS NULL AND c.invoice_number NOT LIKE 'RE-2025-%')
        """) == 0
    engine.dispose()


def test_realistic_values(built):
    url, summary = built
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        md = sa.MetaData()
        po = sa.Table("purchase_orders", md, autoload_with=conn)
        orders = conn.execute(sa.select(po)).mappings().all()
        own = conn.execute(sa.text("SELECT * FROM partners WHERE id = 'OWN'")).mappings().one()
        partners = conn.execute(sa.text("SELECT * FROM partners WHERE kind <> 'self'")).mappings().all()
        products = conn.execute(sa.text("SELECT unit_of_measure, tax_rate FROM products")).all()
        inv_null_prices = _scalar(conn, "SELECT COUNT(*) FROM invoice_lines WHERE unit_price IS NULL")
        pending = {t: conn.execute(sa.text(
            f"SELECT COUNT(*), SUM(CASE WHEN status IS NULL AND attempts = 0 AND version = 1 "
            f"AND error_url IS NULL AND last_error IS NULL THEN 1 ELSE 0 END) FROM {t}")).one()
            for t, *_ in DOCUMENT_TYPES.values()}
        currencies = Counter(conn.execute(sa.text("SELECT currency FROM invoices")).scalars())
    engine.dispose()

    assert own["kind"] == "self" and own["city"] == "Berlin" and re.fullmatch(r"DE\d{9}", own["vat_id"])
    assert gs1_valid(own["gln"])
    kinds = Counter(p["kind"] for p in partners)
    assert kinds == {"customer": summary["partners"]["customers"], "supplier": summary["partners"]["suppliers"]}
    assert kinds["customer"] >= 60 and kinds["supplier"] >= 30
    assert {p["id"] for p in partners if p["kind"] == "customer"} >= {"KU-1000", "KU-1001"}
    assert {p["id"] for p in partners if p["kind"] == "supplier"} >= {"LI-2000", "LI-2001"}
    countries = Counter(p["country_code"] for p in partners)
    assert countries.most_common(1)[0][0] == "DE" and set(countries) <= {"DE", "AT", "NL", "FR"}
    assert sum(1 for p in partners if p["is_enabled"]) > 0.85 * len(partners)
    assert any(not p["is_enabled"] for p in partners)
    assert not any(p["via_procuros"] for p in partners)
    assert sum(1 for p in partners if p["duns"]) > 0
    for p in partners:
        if p["vat_id"] and p["country_code"] == "DE":
            assert re.fullmatch(r"DE\d{9}", p["vat_id"]), p["vat_id"]
        if p["duns"]:
            assert re.fullmatch(r"\d{9}", p["duns"])
        assert "@" in p["contact_email"] and p["contact_phone"].startswith("+")
    uoms = Counter(u for u, _ in products)
    assert set(uoms) <= set(demo.UNITS_OF_MEASURE) and uoms.most_common(1)[0][0] == "EA"
    assert {float(t) for _, t in products} <= {7.0, 19.0}
    assert inv_null_prices == 0
    for table, (n, ok) in pending.items():
        assert n == ok, table
    assert currencies["EUR"] > 0.9 * sum(currencies.values())
    first = min(orders, key=lambda o: o["id"])
    assert first["id"] == 1 and first["order_number"] == "PO-2026-000001"
    for o in orders:
        assert isinstance(o["order_date"], dt.datetime)
        assert ANCHOR - dt.timedelta(days=61) <= o["order_date"] < ANCHOR
        assert o["requested_delivery_date"] > o["order_date"].date()


def test_deterministic(tmp_path):
    a, b, c = (f"sqlite:///{tmp_path / name}" for name in ("a.db", "b.db", "c.db"))
    sa_ = build_demo_erp(a, 800, seed=3)
    sb = build_demo_erp(b, 800, seed=3)
    build_demo_erp(c, 800, seed=4)
    assert sa_ == sb
    for table in demo_tables():
        assert _rows(a, table) == _rows(b, table), table
    assert _rows(a, "partners") != _rows(c, "partners")
    assert _rows(a, "invoice_lines") != _rows(c, "invoice_lines")
    for table in INTEGRATION_TABLES:
        assert _rows(a, table) != _rows(c, table), table
        assert sa_[table] == sb[table]


def test_reset_and_no_reset(tmp_path):
    url = f"sqlite:///{tmp_path / 'r.db'}"
    first = build_demo_erp(url, 200, seed=1)
    again = build_demo_erp(url, 300, seed=1)  # reset=True replaces everything
    assert again["tables"]["purchase_orders"] == 90 != first["tables"]["purchase_orders"]
    _check_against_summary(url, again)
    with pytest.raises(ValueError, match="already holds rows"):
        build_demo_erp(url, 100, reset=False)
    empty = f"sqlite:///{tmp_path / 'e.db'}"
    summary = build_demo_erp(empty, 100, reset=False)  # creates the missing tables
    _check_against_summary(empty, summary)


def test_small_and_zero(tmp_path):
    url = f"sqlite:///{tmp_path / 's.db'}"
    summary = build_demo_erp(url, 0)
    assert summary["expected_outcomes"] == {"TRANSMITTED": 0, "NO_ACTION": 0, "REJECTED": 0, "BUILD_ERROR": 0}
    assert summary["tables"]["partners"] == 1 + 20 + 10 and summary["tables"]["products"] == 50
    for table in INTEGRATION_TABLES:  # at least 10 rows each, every outcome represented
        assert summary[table]["rows"] == summary["tables"][table] == 10
        assert all(summary[table]["expected"].values()), (table, summary[table])
    _check_integration(url, summary)
    summary = build_demo_erp(url, 7)
    assert sum(summary["documents_by_type"].values()) == 7
    _check_against_summary(url, summary)
    _check_integration(url, summary)


# --------------------------------------------------------------------------- RamBase / GEP tables


def test_integration_summary_shape(built):
    _url, summary = built
    po, matches, gep = (summary[t] for t in INTEGRATION_TABLES)
    assert (po["rows"], matches["rows"], gep["rows"]) == (DOCS // 10, DOCS // 20, DOCS // 10)
    assert set(po) == {"rows", "expected", "build_errors_by_field", "rejected_by_reason"}
    assert set(po["expected"]) == {"SYNCED", "REJECTED", "BUILD_ERROR"}
    assert set(po["build_errors_by_field"]) == set(demo.RAMBASE_PO_CONSTRAINED_FIELDS)
    assert set(po["rejected_by_reason"]) == {"product_not_found", "currency_mismatch", "missing_duty"}
    assert set(matches) == {"rows", "unmatched", "expected", "cases"}
    assert set(matches["expected"]) == {"FORWARDED", "ERROR", "BUILD_ERROR"}
    assert set(gep) == {"rows", "expected", "processing_status"}
    assert set(gep["expected"]) == {"ACKNOWLEDGED", "ERRORED", "BUILD_ERROR"}


def test_integration_tables_match_summary(built):
    url, summary = built
    _check_integration(url, summary)


def test_integration_shares(built):
    url, summary = built
    po, matches, gep = (summary[t] for t in INTEGRATION_TABLES)

    def near(n: int, total: int, share: float, slack: float = 0.01) -> bool:
        return (share - slack) * total <= n <= (share + slack) * total

    assert near(po["expected"]["BUILD_ERROR"], po["rows"], 0.03)
    reasons = po["rejected_by_reason"]
    assert near(reasons["product_not_found"], po["rows"], 0.02)
    assert near(reasons["currency_mismatch"], po["rows"], 0.02)
    assert near(reasons["missing_duty"], po["rows"], 0.01)
    assert near(matches["unmatched"], matches["rows"], 0.10)
    assert near(matches["expected"]["BUILD_ERROR"], matches["rows"], 0.02)
    assert near(matches["cases"]["finished_after_polls"], matches["rows"], 0.15)
    assert near(matches["cases"]["error_after_polls"], matches["rows"], 0.03)
    assert near(matches["cases"]["error_at_once"], matches["rows"], 0.02)
    assert near(gep["expected"]["BUILD_ERROR"], gep["rows"], 0.03)
    assert near(gep["expected"]["ERRORED"], gep["rows"], 0.04)
    assert near(gep["processing_status"]["Failed"], gep["rows"], 0.20)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = _mappings(conn, "rambase_po_updates")
        by_range = Counter()
        for r in rows:
            po_id = r["purchase_order_id"]
            by_range["ok" if 100000 <= po_id <= 149999 else "duty" if 170000 <= po_id <= 170999
                     else "currency" if 180000 <= po_id <= 189999 else "not_found" if 190000 <= po_id <= 199999
                     else "low" if po_id < 100000 else "other"] += 1
    engine.dispose()
    assert by_range["other"] == 0 and by_range["ok"] >= 0.9 * len(rows)
    assert by_range["not_found"] == reasons["product_not_found"]
    assert by_range["duty"] == reasons["missing_duty"]
    assert by_range["low"] == po["build_errors_by_field"]["purchase_order_id"]
    # payloads carry only the fields the ERP has: every optional field present in roughly 60-90 % of rows
    for column in RAMBASE_OPTIONAL:
        present = sum(r[column] is not None for r in rows) / len(rows)
        assert 0.5 <= present <= 0.95, (column, present)
    assert all(r["delivery_terms"] is not None for r in rows if r["delivery_term_place"] is not None)


def test_rambase_constraint_cases(built):
    url, summary = built
    by_field = summary["rambase_po_updates"]["build_errors_by_field"]
    assert all(n > 0 for n in by_field.values()), by_field  # every documented constraint is broken somewhere
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = _mappings(conn, "rambase_po_updates")
    engine.dispose()
    broken = {field: [r for r in rows if _po_update_faults(r) == [field]] for field in by_field}
    assert {f: len(v) for f, v in broken.items()} == by_field
    assert {r["ship_from_address_id"] for r in broken["ship_from_address_id"]} == {0}
    assert all(r["delivery_terms"] not in INCOTERMS_2020 for r in broken["delivery_terms"])
    assert all(r["purchase_order_id"] < 100000 for r in broken["purchase_order_id"])
    # the currency-mismatch range: EUR is rejected, USD goes through
    currency_range = [r for r in rows if 180000 <= r["purchase_order_id"] <= 189999]
    assert Counter(r["currency"] for r in currency_range)["EUR"] == \
        summary["rambase_po_updates"]["rejected_by_reason"]["currency_mismatch"]
    assert {r["currency"] for r in currency_range} <= {"EUR", "USD"}
    # sound rows look real
    sound = [r for r in rows if not _po_update_faults(r)]
    assert {r["delivery_terms"] for r in sound} - {None} <= INCOTERMS_2020
    assert {r["delivery_terms"] for r in sound} >= {"EXW", "FCA", "DAP", "DDP"}
    assert all(re.fullmatch(r"\d+(N|D\d)", r["payment_terms"]) for r in sound if r["payment_terms"])
    assert Counter(r["currency"] for r in sound if r["currency"]).most_common(1)[0][0] in ("NOK", "EUR")
    ids = [r["purchase_order_id"] for r in rows]
    assert len(set(ids)) == len(ids)  # one pending update per purchase order at this size


def test_rambase_invoice_matches_rows(built):
    url, summary = built
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = _mappings(conn, "rambase_invoice_matches")
    engine.dispose()
    matches = summary["rambase_invoice_matches"]
    responses = [r["purchase_order_response_id"] for r in rows]
    assert len(set(responses)) == len(responses) and min(responses) >= 100000
    unmatched = [r for r in rows if r["supplier_invoice_id"] is None]
    assert len(unmatched) == matches["unmatched"] > 0
    # unmatched rows are not pending work: the extraction must skip them, whatever the range
    assert all(100000 <= r["purchase_order_response_id"] <= 149999 or r["purchase_order_response_id"] >= 200000
               for r in unmatched)
    cases = Counter()
    for r in rows:
        if r["supplier_invoice_id"] is None or r["supplier_invoice_id"] < 100000:
            continue
        response = r["purchase_order_response_id"]
        cases["finished_after_polls" if 150000 <= response <= 159999 else
              "error_after_polls" if 160000 <= response <= 167999 else
              "error_at_once" if 168000 <= response <= 168999 else "finished_at_once"] += 1
    assert dict(cases) == _nonzero(matches["cases"])
    bad = [r for r in rows if r["supplier_invoice_id"] is not None and r["supplier_invoice_id"] < 100000]
    assert len(bad) == matches["expected"]["BUILD_ERROR"] > 0


def test_gep_por_status_rows(built):
    url, summary = built
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = _mappings(conn, "gep_por_statuses")
    engine.dispose()
    keys = [r["order_number"] for r in rows if r["order_number"] is not None]
    assert len(set(keys)) == len(keys)
    assert all(re.fullmatch(r"(48|X8)\d{8}", k) for k in keys), keys[:5]
    status = Counter(r["processing_status"] for r in rows)
    assert dict(status) == summary["gep_por_statuses"]["processing_status"]
    for r in rows:
        if r["processing_status"] == "Failed":
            assert r["comment"] and re.fullmatch(r"[A-Z_]+", r["error_code"]), r
        else:
            assert r["processing_status"] == "Processed" and r["comment"] is None and r["error_code"] is None, r
        if r["source_system_value"] is not None:
            assert r["source_system_name"] in ("SAP-ERP", "DEMO-ERP")
    assert {r["lob"] for r in rows} == {"Direct", "Indirect", None}
    assert {r["source_system_name"] for r in rows} == {"SAP-ERP", "DEMO-ERP", None}
    codes = Counter(r["error_code"] for r in rows if r["error_code"])
    assert codes.most_common(1)[0][0] == "PRICE_MISMATCH"
    assert all(re.fullmatch(r"Price mismatch on line [1-8]", r["comment"])
               for r in rows if r["error_code"] == "PRICE_MISMATCH")


# --------------------------------------------------------------------------- PostgreSQL / MariaDB


def _unreachable(what: str, exc: Exception):
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    reason = f"{what} is not reachable ({type(exc).__name__}: {first_line})"
    pytest.fail(reason)


@contextlib.contextmanager
def _isolated(base_url: str):
    """A schema (PostgreSQL) or database (MariaDB) of its own on the server at ``base_url``.

    Called from the test body (not a fixture), so that with CI set an unreachable server is a
    test failure rather than a setup error.
    """
    url = make_url(base_url)
    name = f"erp_demo_test_{uuid.uuid4().hex[:8]}"
    postgres = url.get_backend_name() == "postgresql"
    label = "PostgreSQL" if postgres else "MariaDB"
    try:
        engine = sa.create_engine(url)
        with engine.begin() as conn:
            conn.execute(sa.text(f"CREATE SCHEMA {name}" if postgres
                                 else f"CREATE DATABASE {name} CHARACTER SET utf8mb4"))
    except Exception as exc:  # noqa: BLE001 - driver missing or server down
        _unreachable(f"{label} at {url.render_as_string(hide_password=True)}", exc)
    try:
        if postgres:
            isolated = url.update_query_dict({"options": f"-csearch_path={name}"})
        else:
            isolated = url.set(database=name)
        yield isolated.render_as_string(hide_password=False)
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP SCHEMA {name} CASCADE" if postgres else f"DROP DATABASE {name}"))
        engine.dispose()


def _check_server(url: str, tmp_path) -> None:
    docs, seed = 1500, 11
    build_demo_erp(url, 200, seed=seed)  # a first build, so the second one exercises the drop
    summary = build_demo_erp(url, docs, seed=seed)
    _check_against_summary(url, summary)
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        inspector = sa.inspect(conn)
        assert set(demo_tables()) <= set(inspector.get_table_names())
        fks = {(fk["referred_table"], tuple(fk["constrained_columns"]))
               for fk in inspector.get_foreign_keys("invoice_lines")}
        assert ("invoices", ("invoice_id",)) in fks and ("products", ("product_id",)) in fks
    # orphans are impossible: the server enforces the keys
    with pytest.raises(sa.exc.IntegrityError):
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO invoice_lines (invoice_id, line_number, product_id, quantity,"
                                 " unit_price) VALUES (999999, 1, 'SKU-00001', 1, 1)"))
    engine.dispose()
    # the same seed gives the same data as on SQLite
    lite = f"sqlite:///{tmp_path / 'same.db'}"
    assert build_demo_erp(lite, docs, seed=seed) == summary
    for table in ("partners", "partner_addresses", "products", "purchase_orders", "shipping_notices",
                  "invoice_lines", "credit_notes"):
        # compare as sorted lists: the servers' collations may order string keys differently
        server_rows = sorted((tuple(_norm(v) for v in r) for r in _rows(url, table)), key=repr)
        lite_rows = sorted((tuple(_norm(v) for v in r) for r in _rows(lite, table)), key=repr)
        assert server_rows == lite_rows, table


def test_postgresql(tmp_path):
    with _isolated(PG_URL) as url:
        _check_server(url, tmp_path)


def test_mariadb(tmp_path):
    with _isolated(MYSQL_URL) as url:
        _check_server(url, tmp_path)


def _check_server_integration(url: str, tmp_path) -> None:
    docs, seed = 2000, 5
    summary = build_demo_erp(url, docs, seed=seed)
    _check_integration(url, summary)
    lite = f"sqlite:///{tmp_path / 'integration.db'}"
    assert build_demo_erp(lite, docs, seed=seed) == summary
    for table in INTEGRATION_TABLES:
        server_rows = [tuple(_norm(v) for v in r) for r in _rows(url, table)]
        lite_rows = [tuple(_norm(v) for v in r) for r in _rows(lite, table)]
        assert server_rows == lite_rows, table  # integer keys: the same order everywhere


def test_postgresql_integration_tables(tmp_path):
    with _isolated(PG_URL) as url:
        _check_server_integration(url, tmp_path)


def test_mariadb_integration_tables(tmp_path):
    with _isolated(MYSQL_URL) as url:
        _check_server_integration(url, tmp_path)
