"""Reliability: bad ERP data and bad vendor answers.

Bad ERP data (docs/platform/guarantees.md: "A bad row never fails its batch: it becomes a build
error naming the document and the field"). Rows of a demo ERP are spoiled with SQL
before a run: blank required fields, ids below RamBase's minimums, bad currency and
Incoterms codes, impossible dates, a line whose product has no GTIN. Each spoiled row
must end with a build error naming the field, and every other row must end exactly as
in a run of the same ERP without the edits (the "clean run"). Valid but unusual text
(5,000 characters; emoji, umlauts, CJK, quotes, backslashes, tabs and newlines) must
reach the vendor unchanged.

Bad vendor answers (docs/integrators/procuros.md: "429, 5xx, timeout, connection error, unreadable answer:
untouched ... the report says so"; Guarantees: "No false statuses"). With every answer
of a document endpoint garbled (an HTML 502 page, truncated JSON, an empty 200, an
unexpected 418), the run completes, no document is marked (status empty, attempts
unchanged, no error fields) and the run report says the documents got no final answer,
and why.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from aiohttp import web
from sqlalchemy import create_engine

from conftest import connect, connect_gep, connect_rambase
from erp_outbound.core.storage import safe_name
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_outbound_tools.sandbox.procuros import canonical_hash
from erp_rows import documents

pytestmark = pytest.mark.airflow

# Valid but unusual free text.
ODD_TEXT = ('Grüße, Jürgen & Zoë – 😀🚚 注文番号 «Bitte» "quoted" \'single\' back\\slash C:\\tmp\\x'
            "\ttab\nzweite Zeile, ÄÖÜß")
LONG_TEXT = ("Lieferhinweis für Köln – 😀 注文 \"quoted\" back\\slash; " * 100)[:4999] + "."
ODD_NUMBER = 'PO-Ä😀注-"q"-\\x'  # a document number
ODD_KEY = '48-Ä😀注-"q"-\\x'  # a GEP key (not starting with X, E or Z: the sandbox accepts it)
assert len(LONG_TEXT) == 5000 and LONG_TEXT == LONG_TEXT.strip()

DAGS = {"procuros": "procuros_outgoing", "rambase": "rambase_purchase_orders", "gep": "gep_por_status"}


# -- helpers -----------------------------------------------------------------------------

def new_erp(tmp_path: Path, name: str, documents_: int, seed: int) -> str:
    url = f"sqlite:///{tmp_path / name}"
    build_demo_erp(url, documents_, seed=seed)
    return url


def copy_erp(url: str, name: str) -> str:
    source = Path(url.removeprefix("sqlite:///"))
    target = source.with_name(name)
    shutil.copy(source, target)
    return f"sqlite:///{target}"


def execute(url: str, *statements: tuple[str, tuple]) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        for sql, params in statements:
            conn.exec_driver_sql(sql, params)
    engine.dispose()


def table(url: str, name: str) -> pd.DataFrame:
    engine = create_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql(f"SELECT * FROM {name} ORDER BY id", conn)
    engine.dispose()
    return frame.astype(object).where(frame.notna(), None)


def point_at(monkeypatch, erp_url: str, sandbox, base_url: str | None = None, **extra) -> None:
    """Every default connection at this ERP and this sandbox (``base_url``: another path of it)."""
    base = base_url or sandbox.base_url
    connect(monkeypatch, erp_url, base, **extra)
    connect_rambase(monkeypatch, base, **extra)
    connect_gep(monkeypatch, base, auth_url=f"{sandbox.base_url}/token/gep", **extra)


def run(dag_id: str, conf: dict | None = None):
    return load_dag(dag_id).test(run_conf=conf or {})


def succeeded(dag_run) -> bool:
    return str(dag_run.state).endswith("success")


def report_stem(dag_run) -> str:
    return safe_name(f"{dag_run.dag_id}__{dag_run.run_id}")


def report(files: Path, dag_run) -> dict:
    """The run report JSON of this run."""
    return json.loads((files / "reports" / f"{report_stem(dag_run)}.json").read_text())


def dry_run_bodies(files: Path, dag_run) -> dict[tuple[str, str], dict]:
    """(doc type, document id) -> the body a dry run would send (its preview file in the reports folder)."""
    preview = files / "reports" / f"{report_stem(dag_run)}__dry-run-payloads.jsonl"
    lines = map(json.loads, preview.read_text().splitlines())
    return {(line["doc_type"], line["document_id"]): line["body"] for line in lines}


def names_field(error: str | None, field: str) -> bool:
    """A build error on the ERP row that names ``field`` (``... | field: message``)."""
    return bool(error) and error.startswith("cannot build the payload") and f"| {field}: " in error


# -- Procuros: bad ERP data --------------------------------------------------------------

# (doc type, column, spoiled value, the field its build error must name)
PROCUROS_SPOILED = [
    ("ORDER", "order_number", "   ", "orderIdentifier"),  # blank required field (NOT NULL column)
    ("ORDER", "order_date", "2026-13-45", "orderDate"),  # month 13, day 45
    ("ORDER", "currency", "EURO", "currency"),
    ("ORDER", "supplier_id", "LF-0000", "supplier"),  # a partner the ERP does not have
    ("INVOICE", "invoice_date", "2026-02-30 10:00:00", "invoiceDate"),  # no 30 February
    ("INVOICE", "customer_order_number", "", "orderIdentifier"),
    ("INVOICE", "currency", "eur", "currency"),
]
# (doc type, column, unusual but valid value)
PROCUROS_UNUSUAL = [
    ("ORDER", "comments", LONG_TEXT),
    ("ORDER", "comments", ODD_TEXT),
    ("ORDER", "order_number", ODD_NUMBER),
]
PROCUROS_TABLES = {"ORDER": "purchase_orders", "INVOICE": "invoices"}


def pick(delivered: pd.DataFrame, wanted: list[str]) -> list[tuple[str, str]]:
    """(doc type, id) of delivered documents, one per wanted doc type, never the same twice."""
    pools = {t: list(delivered[delivered.doc_type == t].id) for t in set(wanted)}
    return [(t, pools[t].pop(0)) for t in wanted]


def test_procuros_bad_rows_fail_alone_naming_the_field_and_odd_text_arrives_unchanged(
        tmp_path, files, sandbox_with, monkeypatch):
    """Each spoiled document gets a build error naming its field; odd text is sent as is; the rest is as clean."""
    clean_url = new_erp(tmp_path, "clean.db", 100, seed=61)
    url = copy_erp(clean_url, "spoiled.db")
    point_at(monkeypatch, clean_url, sandbox_with())
    assert succeeded(run("procuros_outgoing", {"report_after": 1}))
    clean = documents(clean_url).set_index(["doc_type", "id"])
    delivered = clean[clean.status == "TRANSMITTED"].reset_index()

    targets = pick(delivered, [t for t, *_ in PROCUROS_SPOILED] + ["ORDER"] * (1 + len(PROCUROS_UNUSUAL)))
    spoiled = dict(zip(targets, PROCUROS_SPOILED))
    unusual = dict(zip(targets[len(spoiled) + 1:], PROCUROS_UNUSUAL))
    edits = [(f"UPDATE {PROCUROS_TABLES[t]} SET {column} = ? WHERE id = ?", (value, int(i)))
             for (t, i), (_, column, value, *_) in (spoiled | unusual).items()]
    no_gtin = targets[len(spoiled)]  # a true NULL in a required field: line 1's product has no GTIN
    edits += [("INSERT INTO products (id, gtin, description, unit_of_measure, tax_rate) "
               "VALUES ('NO-GTIN', NULL, 'Produkt ohne GTIN', 'EA', 19)", ()),
              ("UPDATE purchase_order_lines SET product_id = 'NO-GTIN' WHERE order_id = ? AND line_number = 1",
               (int(no_gtin[1]),))]
    spoiled[no_gtin] = ("ORDER", "line 1 product_id", "NO-GTIN", "items[line 1].identifiers")
    execute(url, *edits)

    sandbox = sandbox_with()
    point_at(monkeypatch, url, sandbox)
    preview = dry_run_bodies(files, run("procuros_outgoing", {"dry_run": True}))  # the exact bodies to be sent
    dag_run = run("procuros_outgoing", {"report_after": 1})

    assert succeeded(dag_run), "bad rows must never fail the run"
    after = documents(url).set_index(["doc_type", "id"])
    for (doc_type, doc_id), (_, column, value, field) in spoiled.items():
        row = after.loc[(doc_type, doc_id)]
        assert row.status is None and row.attempts == 1, (doc_type, doc_id, column)
        assert names_field(row.last_error, field), f"{column}={value!r}: {row.last_error}"
        if value and value.strip():
            assert value in row.last_error, "the error shows the ERP's value"

    received = {(t["type"], t["identifier"]): t for t in sandbox.snapshot()["procuros"]["transactions"]}
    for (doc_type, doc_id), (_, column, value) in unusual.items():
        row = after.loc[(doc_type, doc_id)]
        assert row.status == "TRANSMITTED" and row.attempts == 0 and row.last_error is None, (column, row)
        body = preview[(doc_type, doc_id)]
        header = body["content"]["header"]
        assert header["orderIdentifier" if column == "order_number" else column] == value
        sent = received[(doc_type, header["orderIdentifier"])]
        assert sent["status_code"] == 201
        assert sent["body_hash"] == canonical_hash(body), "Procuros received exactly this body"

    # Everything else ends exactly as in the clean run.
    touched = set(spoiled) | set(unusual)
    rest = [key for key in clean.index if key not in touched]
    pd.testing.assert_frame_equal(after.loc[rest, ["status", "attempts"]], clean.loc[rest, ["status", "attempts"]])
    totals = report(files, dag_run)["totals"]
    assert totals["DELIVERED"] == (clean.status == "TRANSMITTED").sum() - len(spoiled)
    assert totals["BUILD_ERROR"] == clean.last_error.fillna("").str.startswith("cannot build").sum() + len(spoiled)


def test_procuros_duplicate_document_numbers_get_a_build_error_naming_the_number(
        tmp_path, files, sandbox_with, monkeypatch):
    """Two documents of one type with one number: a build error naming orderIdentifier, not two sends."""
    url = new_erp(tmp_path, "erp.db", 60, seed=62)
    orders = documents(url).query("doc_type == 'ORDER'")
    first, second = orders.id.iloc[0], orders.id.iloc[1]
    execute(url, ("UPDATE purchase_orders SET order_number = (SELECT order_number FROM purchase_orders WHERE id = ?) "
                  "WHERE id = ?", (int(first), int(second))))
    sandbox = sandbox_with()
    point_at(monkeypatch, url, sandbox)

    assert succeeded(run("procuros_outgoing", {"doc_types": ["ORDER"]}))

    number = orders.number.iloc[0]
    sends = [t for t in sandbox.snapshot()["procuros"]["transactions"] if t["identifier"] == number]
    assert len(sends) <= 1, f"{len(sends)} different ORDERs were sent as {number}"
    after = documents(url).set_index("id")
    duplicates = after.loc[[first, second]]
    assert duplicates.last_error.map(lambda e: names_field(e, "orderIdentifier")).any()


def test_procuros_a_date_with_a_utc_offset_never_fails_the_batch(tmp_path, files, sandbox_with, monkeypatch):
    """A valid ISO 8601 order date with an offset is sent (or is a build error); the rest goes through."""
    clean_url = new_erp(tmp_path, "clean.db", 60, seed=63)
    url = copy_erp(clean_url, "offset.db")
    point_at(monkeypatch, clean_url, sandbox_with())
    assert succeeded(run("procuros_outgoing"))
    clean = documents(clean_url).set_index(["doc_type", "id"])
    order = clean[clean.status == "TRANSMITTED"].loc["ORDER"].index[0]
    execute(url, ("UPDATE purchase_orders SET order_date = '2026-11-02T09:00:00+01:00' WHERE id = ?", (int(order),)))
    point_at(monkeypatch, url, sandbox_with())

    assert succeeded(run("procuros_outgoing")), "one row's date format must not fail the run"
    after = documents(url).set_index(["doc_type", "id"])
    row = after.loc[("ORDER", order)]
    assert row.status == "TRANSMITTED" or names_field(row.last_error, "orderDate")
    rest = [key for key in clean.index if key != ("ORDER", order)]
    pd.testing.assert_frame_equal(after.loc[rest, ["status", "attempts"]], clean.loc[rest, ["status", "attempts"]])


def test_procuros_text_dates_are_read_with_one_day_month_order(tmp_path, files, sandbox_with, monkeypatch):
    """'01.02.2026' and '13.02.2026' in one column: both read day first, or not read silently at all."""
    url = new_erp(tmp_path, "erp.db", 60, seed=64)
    ids = list(documents(url).query("doc_type == 'ORDER'").id[:2])
    execute(url, ("UPDATE purchase_orders SET requested_delivery_date = '01.02.2026' WHERE id = ?", (int(ids[0]),)),
            ("UPDATE purchase_orders SET requested_delivery_date = '13.02.2026' WHERE id = ?", (int(ids[1]),)))
    point_at(monkeypatch, url, sandbox_with())

    dag_run = run("procuros_outgoing", {"dry_run": True, "doc_types": ["ORDER"]})

    assert succeeded(dag_run)
    preview = {doc_id: body for (_, doc_id), body in dry_run_bodies(files, dag_run).items()}
    failed = {f["document_id"]: f["reason"] for f in report(files, dag_run)["failures"]}

    def read_as(doc_id: str) -> str:
        if doc_id in preview:
            return preview[doc_id]["content"]["header"]["requestedDeliveryDate"][:10]
        assert "requestedDeliveryDate" in failed[doc_id]
        return "BUILD_ERROR"

    assert (read_as(ids[0]), read_as(ids[1])) in {
        ("2026-02-01", "2026-02-13"),  # both day first
        ("2026-01-02", "BUILD_ERROR"),  # both month first
        ("BUILD_ERROR", "BUILD_ERROR"),  # not a format the package reads
    }


# -- RamBase: bad ERP data ---------------------------------------------------------------

# (column, spoiled value, the field its build error must name, what it must say)
RAMBASE_SPOILED = [
    ("purchase_order_id", 99999, "purchaseOrderId", "must be at least 100000"),
    ("location_id", 9999, "location.locationId", "must be at least 10000"),
    ("assignee_user_id", 99, "assignee.userId", "must be at least 100"),
    ("supplier_id", 99, "supplier.supplierId", "must be at least 100"),
    ("ship_from_address_id", 0, "shipFrom.addressId", "must be at least 1"),
    ("shipping_service_id", 99999, "shipment.shippingService.shippingServiceId", "must be at least 100000"),
    ("currency", "eur", "currency", "is not an ISO 4217 currency code"),
    ("currency", "EURO", "currency", "is not an ISO 4217 currency code"),
    ("delivery_terms", "DAT", "shipment.deliveryTerms", "is not an Incoterms 2020 code"),  # Incoterms 2010
]
# (column, unusual but valid text, the field of the PUT body that carries it)
RAMBASE_UNUSUAL = [
    ("note", LONG_TEXT, "note"),
    ("suppliers_reference", ODD_TEXT, "suppliersReference"),
    ("ship_to_attention", ODD_TEXT, "shipToAttention"),
]


def test_rambase_bad_rows_fail_alone_naming_the_field_and_odd_text_arrives_unchanged(
        tmp_path, files, sandbox_with, monkeypatch):
    """Ids below the minimums, bad currency / Incoterms: build errors naming the field; the rest as clean."""
    clean_url = new_erp(tmp_path, "clean.db", 400, seed=65)  # 40 purchase-order updates
    url = copy_erp(clean_url, "spoiled.db")
    point_at(monkeypatch, clean_url, sandbox_with())
    assert succeeded(run("rambase_purchase_orders"))
    clean = table(clean_url, "rambase_po_updates").set_index("id")
    synced = list(clean[clean.rambase_status == "SYNCED"].index)
    spoiled = dict(zip(synced, RAMBASE_SPOILED))
    unusual = dict(zip(synced[len(spoiled):], RAMBASE_UNUSUAL))
    twin, original = synced[len(spoiled) + len(unusual):][:2]  # a second pending update of one order
    execute(url, *[(f"UPDATE rambase_po_updates SET {column} = ? WHERE id = ?", (value, int(i)))
                   for i, (column, value, *_) in (spoiled | unusual).items()],
            ("UPDATE rambase_po_updates SET purchase_order_id = ? WHERE id = ?",
             (int(clean.loc[original, "purchase_order_id"]), int(twin))))
    sandbox = sandbox_with()
    point_at(monkeypatch, url, sandbox)

    dag_run = run("rambase_purchase_orders")

    assert succeeded(dag_run), "bad rows must never fail the run"
    after = table(url, "rambase_po_updates").set_index("id")
    for i, (column, value, field, says) in spoiled.items():
        row = after.loc[i]
        assert row.rambase_status is None and row.attempts == 1 and row.rambase_error_id is None, (column, value)
        assert names_field(row.rambase_error, field), f"{column}={value!r}: {row.rambase_error}"
        assert says in row.rambase_error

    puts = sandbox.snapshot()["rambase"]["order_puts"]
    for i, (column, value, body_field) in unusual.items():
        assert after.loc[i, "rambase_status"] == "SYNCED", (column, after.loc[i].to_dict())
        [sent] = [p for p in puts if p["id"] == int(after.loc[i, "purchase_order_id"])]
        assert sent["status_code"] == 200
        assert sent["body"]["purchaseOrder"][body_field] == value, "RamBase received the text unchanged"

    # Two pending updates of one purchase order: RamBase's PUT updates what it is sent, so both go.
    order_id = int(clean.loc[original, "purchase_order_id"])
    assert len([p for p in puts if p["id"] == order_id]) == 2
    assert (after.loc[[twin, original], "rambase_status"] == "SYNCED").all()

    rest = [i for i in clean.index if i not in set(spoiled) | set(unusual) | {twin}]
    pd.testing.assert_frame_equal(after.loc[rest, ["rambase_status", "rambase_error_id", "attempts"]],
                                  clean.loc[rest, ["rambase_status", "rambase_error_id", "attempts"]])
    totals = report(files, dag_run)["totals"]
    assert totals["DELIVERED"] == (clean.rambase_status == "SYNCED").sum() - len(spoiled)


def test_rambase_a_fractional_id_is_a_build_error_not_a_failed_run(tmp_path, files, sandbox_with, monkeypatch):
    """location_id 10000.5: a build error naming location.locationId; the other rows are synced."""
    url = new_erp(tmp_path, "erp.db", 400, seed=66)
    frame = table(url, "rambase_po_updates")
    target = int(frame.id.iloc[0])
    execute(url, ("UPDATE rambase_po_updates SET location_id = 10000.5 WHERE id = ?", (target,)))
    sandbox = sandbox_with()
    point_at(monkeypatch, url, sandbox)

    assert succeeded(run("rambase_purchase_orders")), "one bad row must not fail the run"
    row = table(url, "rambase_po_updates").set_index("id").loc[target]
    assert names_field(row.rambase_error, "location.locationId") and "whole number" in row.rambase_error
    assert sandbox.snapshot()["rambase"]["order_puts"], "the rest of the batch went to RamBase"


@pytest.mark.parametrize("vendor, edit, field", [
    pytest.param("procuros", "UPDATE purchase_order_lines SET unit_price = '12,50' "
                 "WHERE order_id = (SELECT MIN(order_id) FROM purchase_order_lines) AND line_number = 1",
                 "items[line 1].unitPrice", id="procuros unit_price '12,50'"),
    pytest.param("rambase", "UPDATE rambase_po_updates SET purchase_order_id = '' WHERE id = 1",
                 "purchaseOrderId", id="rambase purchase_order_id empty"),
    pytest.param("rambase", "UPDATE rambase_po_updates SET location_id = 'abc' WHERE id = 1",
                 "location.locationId", id="rambase location_id 'abc'"),
])
def test_text_in_a_numeric_column_is_a_build_error_not_a_failed_run(
        tmp_path, files, sandbox_with, monkeypatch, vendor, edit, field):
    """A non-number in a numeric ERP column: a build error naming the field; the run succeeds."""
    url = new_erp(tmp_path, "erp.db", 400 if vendor == "rambase" else 60, seed=67)
    execute(url, (edit, ()))
    point_at(monkeypatch, url, sandbox_with())

    dag_run = run(DAGS[vendor], {"doc_types": ["ORDER"]} if vendor == "procuros" else {})

    assert succeeded(dag_run), "one bad row must not fail the run"
    failures = report(files, dag_run)["failures"]
    assert any(f["outcome"] == "BUILD_ERROR" and f"{field}: " in f["reason"] for f in failures)


# -- GEP: bad ERP data -------------------------------------------------------------------

def test_gep_rows_without_a_key_fail_alone_and_odd_text_goes_through(tmp_path, files, sandbox_with, monkeypatch):
    """NULL / blank keys: "Key is mandatory" naming the key; odd keys and a 5,000-character comment go through.

    The GEP sandbox records the keys it acknowledged, not the descriptions: the long comment
    is checked by its row's acknowledgement only.
    """
    clean_url = new_erp(tmp_path, "clean.db", 400, seed=68)  # 40 status rows
    url = copy_erp(clean_url, "spoiled.db")
    point_at(monkeypatch, clean_url, sandbox_with())
    assert succeeded(run("gep_por_status"))
    clean = table(clean_url, "gep_por_statuses").set_index("id")
    acked = list(clean[clean.ack_status == "ACKNOWLEDGED"].index)
    no_key, blank_key, odd_key, padded_key, long_comment, twin, original = acked[:7]
    padded = f"  {clean.loc[padded_key, 'order_number']} "
    execute(url,
            ("UPDATE gep_por_statuses SET order_number = NULL WHERE id = ?", (int(no_key),)),
            ("UPDATE gep_por_statuses SET order_number = '   ' WHERE id = ?", (int(blank_key),)),
            ("UPDATE gep_por_statuses SET order_number = ? WHERE id = ?", (ODD_KEY, int(odd_key))),
            ("UPDATE gep_por_statuses SET order_number = ? WHERE id = ?", (padded, int(padded_key))),
            ("UPDATE gep_por_statuses SET comment = ?, processing_status = 'Failed' WHERE id = ?",
             (LONG_TEXT, int(long_comment))),
            ("UPDATE gep_por_statuses SET order_number = ? WHERE id = ?",
             (clean.loc[original, "order_number"], int(twin))))
    sandbox = sandbox_with()
    point_at(monkeypatch, url, sandbox)

    dag_run = run("gep_por_status", {"batch_size": 10})

    assert succeeded(dag_run), "bad rows must never fail the run"
    after = table(url, "gep_por_statuses").set_index("id")
    for i in (no_key, blank_key):
        row = after.loc[i]
        assert row.ack_status is None and row.attempts == 1
        assert names_field(row.ack_errors, "key") and "Key is mandatory" in row.ack_errors
    acknowledged = sandbox.snapshot()["gep"]["acknowledged"]["/SmartInterfaceAPI/api/Order/PORStatus"]
    assert acknowledged.get(ODD_KEY) == 1, "GEP received the odd key unchanged"
    assert acknowledged.get(padded.strip()) == 1, "a padded key is sent trimmed"
    # Two status rows of one purchase order response (one batch): one entry per key, both rows get its verdict.
    assert acknowledged.get(clean.loc[original, "order_number"]) == 1
    for i in (odd_key, padded_key, long_comment, twin, original):
        assert after.loc[i, "ack_status"] == "ACKNOWLEDGED" and after.loc[i, "attempts"] == 0, after.loc[i].to_dict()

    rest = [i for i in clean.index if i not in {no_key, blank_key, odd_key, padded_key, long_comment, twin}]
    pd.testing.assert_frame_equal(after.loc[rest, ["ack_status", "attempts"]],
                                  clean.loc[rest, ["ack_status", "attempts"]])
    assert report(files, dag_run)["totals"]["DELIVERED"] == (clean.ack_status == "ACKNOWLEDGED").sum() - 2


# -- bad vendor answers ------------------------------------------------------------------

ENDPOINTS = {"procuros": "procuros.transactions", "rambase": "rambase.orders", "gep": "gep.status"}
STATUS_FIELDS = {  # vendor -> the columns a verdict writes
    "procuros": ["status", "error_url", "attempts", "last_error", "procuros_transaction_id"],
    "rambase": ["rambase_status", "rambase_error", "rambase_error_id", "attempts"],
    "gep": ["ack_status", "ack_errors", "attempts"],
}


def vendor_rows(vendor: str, url: str) -> pd.DataFrame:
    """The documents of the vendor's DAG, indexed by (doc type, id), with their status columns."""
    if vendor == "procuros":
        frame = documents(url)
    else:
        name = "rambase_po_updates" if vendor == "rambase" else "gep_por_statuses"
        frame = table(url, name).assign(doc_type=name, id=lambda f: f.id.astype(str))
    return frame.set_index(["doc_type", "id"])[STATUS_FIELDS[vendor]]


ERROR_COLUMNS = {"procuros": "last_error", "rambase": "rambase_error", "gep": "ack_errors"}


def build_errors(vendor: str, rows: pd.DataFrame) -> set:
    """The documents that could not be built (they count an attempt: the vendor was reachable)."""
    errors = rows[ERROR_COLUMNS[vendor]].fillna("")
    return set(rows.index[errors.str.startswith("cannot build")])


def assert_nothing_marked_and_reported(vendor: str, url: str, before: pd.DataFrame, dag_run, files,
                                       reason: str) -> None:
    """Run complete; only build errors changed; every other document DEFERRED with the reason in the report."""
    assert succeeded(dag_run), "a garbled answer must not crash the run"
    after = vendor_rows(vendor, url)
    not_built = build_errors(vendor, after)
    untouched = [k for k in before.index if k not in not_built]
    assert len(untouched) >= 35, "the run had documents to send"
    pd.testing.assert_frame_equal(after.loc[untouched], before.loc[untouched], obj="documents with no final answer")

    result = report(files, dag_run)
    assert result["totals"]["DEFERRED"] == len(untouched)
    assert result["totals"]["DELIVERED"] == result["totals"]["REJECTED"] == result["totals"]["NO_ACTION"] == 0
    deferred = [f for f in result["failures"] if f["outcome"] == "DEFERRED"]
    assert len(deferred) == len(untouched) and all(reason in f["reason"] for f in deferred), deferred[:2]
    [note] = [n for n in result["notes"] if "got no final answer" in n]
    assert note.startswith(f"{len(untouched)} documents") and reason in note and "Nothing was marked" in note


@pytest.mark.parametrize("fault, reason", [
    ("html_error", "vendor error 502: <html>"),
    ("truncated_json", "HTTP 200"),
    ("empty_200", "HTTP 200"),
])
@pytest.mark.parametrize("vendor", ["procuros", "rambase", "gep"])
def test_garbled_answers_mark_nothing_and_the_report_says_why(
        tmp_path, files, sandbox_with, monkeypatch, vendor, fault, reason):
    """Every answer of the document endpoint garbled: nothing marked, the report gives the reason."""
    url = new_erp(tmp_path, "erp.db", 60 if vendor == "procuros" else 400, seed=69)
    sandbox = sandbox_with(faults={ENDPOINTS[vendor]: {fault: 1.0}})
    point_at(monkeypatch, url, sandbox, max_tries=2)
    before = vendor_rows(vendor, url)

    dag_run = run(DAGS[vendor])

    record = sandbox.snapshot()
    hits = record["faults"][ENDPOINTS[vendor]][fault]
    assert hits > 0 and hits == record["requests"][ENDPOINTS[vendor]], "every document request got the fault"
    if vendor == "procuros" and fault != "html_error":
        # Procuros took them and the answers were garbled: its own record (all-transactions) decides.
        assert succeeded(dag_run)
        ledger = {(t["type"], t["identifier"]): t for t in record["procuros"]["ledger"]}
        after = documents(url)
        taken = after[[(r.doc_type, r.number) in ledger for r in after.itertuples()]]
        assert len(taken) >= 35 and (taken.attempts == 0).all()
        for row in taken.itertuples():
            tx = ledger[(row.doc_type, row.number)]
            assert (row.status, row.procuros_transaction_id) == (
                {"SUCCESS": "TRANSMITTED", "DROPPED": "NO_ACTION"}[tx["status"]], tx["procurosTransactionId"])
        return
    assert_nothing_marked_and_reported(vendor, url, before, dag_run, files, reason)


def with_teapot_routes(monkeypatch) -> None:
    """Sandboxes started from now on also serve ``/teapot/...``.

    There the vendors' auth endpoints answer as usual (Procuros' ping, RamBase's token; GEP's
    token service stays where it is), and every document endpoint answers 418 I'm a teapot,
    a status code none of the vendors documents.
    """
    from erp_outbound_tools.sandbox import server

    build_app = server.build_app

    async def teapot(request: web.Request) -> web.Response:
        return web.Response(status=418, text="I'm a teapot")

    def build_app_with_teapot(config=None):
        app = build_app(config)
        named = app.router.named_resources()

        def same_as(name):
            return next(route.handler for route in named[name] if route.method != "HEAD")

        app.router.add_get("/teapot/v2/ping", same_as("procuros.ping"), name="teapot.ping")
        app.router.add_post("/teapot/oauth2/access_token", same_as("rambase.token"), name="teapot.token")
        app.router.add_get("/teapot/procurement/orders", same_as("rambase.orders_list"), name="teapot.orders_list")
        app.router.add_post("/teapot/v2/transactions", teapot, name="teapot.transactions")
        app.router.add_put("/teapot/procurement/orders/{purchase_order_id}", teapot, name="teapot.orders")
        app.router.add_put("/teapot/SmartInterfaceAPI/api/{document}/{action}", teapot, name="teapot.status")
        return app

    monkeypatch.setattr(server, "build_app", build_app_with_teapot)


@pytest.mark.parametrize("vendor", ["procuros", "rambase", "gep"])
def test_an_unexpected_status_code_marks_nothing_and_the_report_says_so(
        tmp_path, files, sandbox_with, monkeypatch, vendor):
    """418 for every document: nothing marked, each document deferred with 'HTTP 418' in the report."""
    url = new_erp(tmp_path, "erp.db", 60 if vendor == "procuros" else 400, seed=70)
    with_teapot_routes(monkeypatch)
    sandbox = sandbox_with()
    point_at(monkeypatch, url, sandbox, base_url=f"{sandbox.base_url}/teapot", max_tries=2)
    before = vendor_rows(vendor, url)

    dag_run = run(DAGS[vendor])

    teapots = {k: v for k, v in sandbox.snapshot()["requests"].items() if k.startswith("teapot.")}
    answered_418 = sum(n for k, n in teapots.items() if k not in ("teapot.ping", "teapot.token", "teapot.orders_list"))
    assert answered_418 >= 2, f"the document requests went to the 418 routes (each tried twice): {teapots}"
    if vendor == "gep":
        # A 4xx without per-key answers is a batch-level refusal: split down to single keys, each
        # still refused. Nothing is marked, and the run must not look fine.
        assert str(dag_run.state).endswith("failed")
        after = vendor_rows(vendor, url)
        untouched = [k for k in before.index if k not in build_errors(vendor, after)]
        assert len(untouched) >= 35
        pd.testing.assert_frame_equal(after.loc[untouched], before.loc[untouched], obj="GEP rows after bare 418s")
        deferred = [f for f in report(files, dag_run)["failures"] if f["outcome"] == "DEFERRED"]
        assert deferred and all("HTTP 418" in f["reason"] for f in deferred)
        return
    assert_nothing_marked_and_reported(vendor, url, before, dag_run, files, "HTTP 418")
