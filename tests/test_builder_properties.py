"""Property: no ERP value reaches a vendor malformed.

Every builder (the twelve Procuros types, RamBase's purchase-order updates and invoice forwarding,
GEP's statuses) is fed any value its columns can hold, through the transform step's path
(builder, then the contract check). Every document ends as exactly one of:

- a payload that is strict JSON (RFC 8259: no NaN/Infinity, valid UTF-8) and valid against the
  vendor's contract (for Procuros also against the reference validator of spec.py: OpenAPI 3.0
  schema plus the unknown-property walk), staged as the transform stages it;
- a build error naming the document and the field, with a message.

Never an exception that fails the batch. Deterministic: the ``erp-outbound`` hypothesis profile
(tests/conftest.py) is derandomized, with a fixed number of examples, no example database and no
deadline.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

import procuros_more_rows as more
import test_procuros_transforms as first
from erp_outbound.core.batch import Extracted
from erp_outbound.core.contract import build_checked
from erp_outbound.core.flows import flow
from erp_outbound.steps.transform import build_error_records, payload_frame

TZ = "Europe/Berlin"

# --------------------------------------------------------------------------- what an ERP column can hold


def _refuse(constant: str):
    raise ValueError(f"{constant} is not JSON (RFC 8259)")


NUMBER_TEXTS = st.sampled_from([
    "1,5", "1.000,50", "1 000", " 12.5 ", "1e3", "1E-7", "1e999", "-1e999", "1e-400", "NaN", "nan", "inf",
    "-Infinity", "+7", "0x1F", "١٢٣", "12.", ".5", "--1", "1_000", "9" * 400, "-0", "0.1e+2",
])
BLANKS = st.sampled_from(["", " ", "\t", "\n", "\u00a0", "\u2028", "\u2029", "\u3000", "\ufeff"])
DATE_TEXTS = st.sampled_from([
    "2026-02-30", "2026-13-01", "0000-01-01", "0001-01-01", "9999-12-31T23:59:59", "10000-01-01", "1677-09-21",
    "2262-04-12", "31.12.99999", "32.01.2026", "2026-11-02T25:61:00", "2026-11-02T09:00:00+25:00",
    "2026-11-02T09:00:00Z", "2026-03-29 02:30", "yesterday", "02/11/2026", "20261102", "1e10",
])
LONE_SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
ANY_TEXT = st.text(alphabet=st.one_of(st.characters(), LONE_SURROGATES,
                                      st.sampled_from(["\x00", "\x1f", "\x7f", "\u2028", '"', "\\", "<", "\ud83d"])),
                   max_size=30)
LONG_TEXTS = st.builds(lambda n, c: c * n, st.sampled_from([1_001, 35_001, 100_001, 200_000]),
                       st.sampled_from(["x", "ä", "😀", " "]))
HOSTILE = st.one_of(
    st.none(),
    st.integers(),
    st.integers(min_value=-(10 ** 40), max_value=10 ** 40),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.floats(allow_nan=True, allow_infinity=True),
    NUMBER_TEXTS, BLANKS, ANY_TEXT, DATE_TEXTS, LONG_TEXTS,
    st.dates(), st.datetimes(), st.booleans(),
)

# --------------------------------------------------------------------------- the builders' valid rows


def _first_type(doc_type: str):
    return (lambda i: first.HEADER[doc_type](i), lambda i, n: first.line(doc_type, i, n),
            first.HEADER_COLUMNS[doc_type], first.LINE_COLUMNS[doc_type])


def _more_type(doc_type: str):
    return (lambda i: more.HEADER[doc_type](i), lambda i, n: more.line(doc_type, i, n),
            more.HEADER_COLUMNS[doc_type], more.LINE_COLUMNS[doc_type])


PROCUROS = {doc_type: _first_type(doc_type) for doc_type in first.HEADER} | \
           {doc_type: _more_type(doc_type) for doc_type in more.HEADER}

RAMBASE_UPDATE = {"purchase_order_id": 100123, "currency": "NOK", "location_id": 10001, "assignee_user_id": 101,
                  "supplier_id": 100, "ship_from_address_id": 1, "delivery_terms": "DPU",
                  "delivery_term_place": "Oslo", "shipping_service_id": 100000, "payment_terms": "30N",
                  "suppliers_reference": "Ola", "suppliers_reference_number": "X-1", "note": "Bitte liefern",
                  "ship_to_attention": "Kari"}
RAMBASE_FORWARDING = {"purchase_order_response_id": 150001, "supplier_invoice_id": 200001,
                      "operation_instance_id": None}
GEP_STATUS = {"gep_key": "48000061", "status": "Processed", "description": "ok", "source_system_name": "SAP",
              "source_system_value": "4500001", "lob": "Retail", "error_code": "E1"}
# Keys of the extraction and our bookkeeping: never an ERP value.
KEYS = {"document_id", "party_id", "attempts"}


def _hostile_rows(base_rows: list[dict], columns: list[str]):
    """``base_rows`` with up to four ERP columns of each row replaced by any value."""
    changeable = [c for c in columns if c not in KEYS]
    changes = st.lists(st.dictionaries(st.sampled_from(changeable), HOSTILE, max_size=4),
                       min_size=len(base_rows), max_size=len(base_rows))
    return changes.map(lambda per_row: [row | change for row, change in zip(base_rows, per_row)])


def _frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    # object columns, as a DB driver hands over mixed values; a value pandas cannot hold would not be extracted
    return pd.DataFrame({c: pd.Series([row[c] for row in rows], dtype=object) for c in columns})


def _procuros_data(doc_type: str):
    header, line, header_columns, line_columns = PROCUROS[doc_type]
    headers = [header(1), header(2)]
    lines = [line(1, 1), line(1, 2), line(2, 1)]
    return st.tuples(_hostile_rows(headers, header_columns), _hostile_rows(lines, line_columns),
                     _hostile_rows(first.PARTIES[:4], first.PARTY_COLUMNS)).map(
        lambda t: Extracted(_frame(t[0], header_columns), _frame(t[1], line_columns),
                            _frame(t[2] + first.PARTIES[4:], first.PARTY_COLUMNS)))


def _headers_only(base: dict):
    columns = ["document_id", *base, "attempts"]
    rows = [{"document_id": i, **base, "attempts": 0} for i in (1, 2)]
    return _hostile_rows(rows, columns).map(lambda r: Extracted(
        _frame(r, columns), pd.DataFrame({"document_id": [], "line_number": []}), pd.DataFrame({"party_id": []})))


# --------------------------------------------------------------------------- the property


def assert_each_document_ends_well(vendor: str, doc_type: str, data: Extracted, reference=None) -> None:
    doc_flow = flow(vendor, doc_type)
    built = build_checked(vendor, doc_flow, data, TZ)  # the transform step's path: never raises

    ids = list(data.headers.index)
    payload_ids, error_ids = list(built.payloads["document_id"]), list(built.errors["document_id"])
    assert sorted(payload_ids + error_ids) == sorted(ids), "every document ends exactly once"

    for document_id, body in zip(payload_ids, built.payloads["body"]):
        body.encode("utf-8")  # valid UTF-8: no lone surrogate
        payload = json.loads(body, parse_constant=_refuse)
        if reference is not None:
            assert reference.transaction_errors(payload) == [], (document_id, body[:500])
        assert first.empty_values(payload) == [], (document_id, body[:500])

    for document_id, named in zip(error_ids, built.errors["errors"]):  # data: {field: [messages]}
        assert named and all(field and isinstance(field, str) for field in named), (document_id, named)
        assert all(messages and all(isinstance(m, str) and m for m in messages) for messages in named.values())

    # Staged as the transform stages them: Arrow tables of payloads and of build errors.
    pa.Table.from_pandas(payload_frame(doc_type, built))
    build_error_records(doc_type, built)


@pytest.mark.parametrize("doc_type", sorted(PROCUROS))
def test_procuros_builders_send_only_strict_json_within_the_contract(doc_type, procuros_spec):
    @given(_procuros_data(doc_type))
    def property_holds(data):
        assert_each_document_ends_well("procuros", doc_type, data, procuros_spec)

    property_holds()


@pytest.mark.parametrize("doc_type, base", [("PURCHASE_ORDER_UPDATE", RAMBASE_UPDATE),
                                            ("INVOICE_FORWARDING", RAMBASE_FORWARDING)])
def test_rambase_builders_send_only_strict_json_within_the_contract(doc_type, base):
    @given(_headers_only(base))
    def property_holds(data):
        assert_each_document_ends_well("rambase", doc_type, data)

    property_holds()


def test_gep_builder_sends_only_strict_json_within_the_contract():
    @given(_headers_only(GEP_STATUS))
    def property_holds(data):
        assert_each_document_ends_well("gep", "POR_STATUS", data)

    property_holds()


# --------------------------------------------------------------------------- the values that broke it, kept


@pytest.mark.parametrize("column, value", [
    ("quantity", float("inf")), ("quantity", "1e999"), ("unit_price", decimal.Decimal("Infinity")),
    ("unit_price", decimal.Decimal("sNaN")), ("quantity", 10 ** 400), ("line_number", 10 ** 20),
    ("description", "Kiste \ud800"), ("tax_rate", "-inf"),
])
def test_hostile_invoice_lines_end_as_build_errors_naming_the_field(column, value, procuros_spec):
    lines = [first.line("INVOICE", 1, 1), first.line("INVOICE", 2, 1, **{column: value})]
    data = Extracted(pd.DataFrame([first.invoice(1), first.invoice(2)], columns=first.HEADER_COLUMNS["INVOICE"]),
                     _frame(lines, first.LINE_COLUMNS["INVOICE"]), pd.DataFrame(first.PARTIES, columns=first.PARTY_COLUMNS))
    built = build_checked("procuros", flow("procuros", "INVOICE"), data, TZ)
    assert list(built.payloads["document_id"]) == ["1"]
    assert list(built.errors["document_id"]) == ["2"]
    errors = built.errors["errors"][0]  # data: {field: [messages]}
    assert any("items" in field for field in errors), errors


def test_a_comment_over_the_contracts_length_is_a_build_error_naming_field_and_rule():
    data = Extracted(pd.DataFrame([first.order(1), first.order(2, comments="x" * 200_000)],
                                  columns=first.HEADER_COLUMNS["ORDER"]),
                     pd.DataFrame([first.line("ORDER", 1, 1), first.line("ORDER", 2, 1)],
                                  columns=first.LINE_COLUMNS["ORDER"]),
                     pd.DataFrame(first.PARTIES, columns=first.PARTY_COLUMNS))
    built = build_checked("procuros", flow("procuros", "ORDER"), data, TZ)
    assert list(built.payloads["document_id"]) == ["1"]
    assert built.errors["errors"][0] == {
        "header.comments": ["header.comments: 200,000 characters, the contract allows 100,000"]}


def test_a_date_in_the_far_future_is_no_exception(procuros_spec):
    assert_each_document_ends_well("procuros", "ORDER", Extracted(
        _frame([first.order(1, order_date=dt.date(9999, 12, 31)), first.order(2, order_date="10000-01-01")],
               first.HEADER_COLUMNS["ORDER"]),
        _frame([first.line("ORDER", 1, 1), first.line("ORDER", 2, 1)], first.LINE_COLUMNS["ORDER"]),
        pd.DataFrame(first.PARTIES, columns=first.PARTY_COLUMNS)), procuros_spec)
