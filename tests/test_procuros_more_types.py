"""The seven later Procuros types: hand-made ERP frames in, spec-valid JSON or build errors out.

Frames carry exactly the columns of include/sql/procuros/<type>/pending.sql and lines.sql
(tests/procuros_more_rows.py). Every payload is checked against Procuros' OpenAPI description
with ``assert_valid``: the schema of its type, and that every key is a property the schema
declares.
"""

from __future__ import annotations

import datetime as dt
import json
import pandas as pd
import pytest
import requests
from conftest import SANDBOX_TOKEN
import test_procuros_transforms as transforms_tests
from procuros_more_rows import HEADER, HEADER_COLUMNS, LINE_COLUMNS, NUMBER_COLUMN, line
from test_procuros_transforms import (
    CUSTOMER_GLN,
    Bad,
    DEPOT_GLN,
    GTINS,
    OWN_GLN,
    PARTIES,
    PARTY_COLUMNS,
    SSCC,
    TZ,
    WAREHOUSE_GLN,
    assert_one_bad,
    assert_valid,
    build_errors,
    gs1,
    identifiers,
    party,
)

from erp_outbound.core.batch import Extracted
from erp_outbound.procuros.flows import FLOWS, RECEIVER
from erp_outbound.procuros.transforms import BUILDERS

NEW_TYPES = list(HEADER)


def build(doc_type: str, headers: list[dict], lines: list[dict], parties: list[dict] = PARTIES):
    frames = Extracted(pd.DataFrame(headers, columns=HEADER_COLUMNS[doc_type]),
                       pd.DataFrame(lines, columns=LINE_COLUMNS[doc_type]),
                       pd.DataFrame(parties, columns=PARTY_COLUMNS))
    return BUILDERS[doc_type](frames, TZ)


def test_all_twelve_procuros_types_are_sent(procuros_spec):
    assert set(FLOWS) == set(procuros_spec.transaction_schemas) == set(BUILDERS)
    assert len(FLOWS) == 12


# =========================================================================== one test per type


def test_receival_notice(procuros_spec):
    built = build("RECEIVAL_NOTICE", [
        HEADER["RECEIVAL_NOTICE"](1),
        HEADER["RECEIVAL_NOTICE"](2, ship_to_id=None, package_id=None, unit_type=None, comments=None,
                                  delivery_note_date=None),
    ], [
        line("RECEIVAL_NOTICE", 1, 2, shipped_quantity=10, received_quantity=7, rejected_quantity=3,
             reject_reason="Transportschaden", batch_number=None),
        line("RECEIVAL_NOTICE", 1, 1, unit_of_measure="cs"),
        line("RECEIVAL_NOTICE", 2, 1, received_quantity=2.5, unit_of_measure="KGM", best_before_date=None),
    ])
    assert built.errors.empty
    payloads = assert_valid(procuros_spec, built)
    content = payloads["WE-00001"]["content"]
    header = content["header"]
    assert header["receivalAdviceNumber"] == "WE-00001"
    assert header["receivalDate"] == "2026-11-05T08:40:00+01:00"
    assert header["deliveryNoteNumber"] == "LF-88001"
    assert header["deliveryNoteDate"] == "2026-11-04T14:00:00+01:00"
    assert header["customerOrderNumber"] == "PO-00001" and header["orderDate"] == "2026-11-02T09:00:00+01:00"
    assert identifiers(header["customer"]) == [("GS1", OWN_GLN), ("VAT_DE", "DE811234567")]
    assert identifiers(header["supplier"]) == [("DUNS", "315123456")]
    assert identifiers(header["shipTo"]) == [("GS1", WAREHOUSE_GLN)]
    [unit] = content["transportUnits"]
    assert unit["unitIdentifier"] == SSCC and unit["unitType"] == "EURO_PALLET"
    first, second = unit["items"]
    assert first == {"lineNumber": 1, "orderLineNumber": 10,
                     "identifiers": [{"identifier": GTINS[0], "domain": "GS1"}],
                     "description": "Bio-Haferflocken 250 g", "orderedQuantity": 12, "shippedQuantity": 12,
                     "receivedQuantity": 12, "unitOfMeasure": "CS",
                     "batches": [{"batchIdentifier": "CH-260001", "expirationDate": "2027-05-31", "quantity": 12}]}
    assert (second["receivedQuantity"], second["rejectedQuantity"], second["rejectReason"]) == (7, 3, "Transportschaden")
    assert "batches" not in second

    other = payloads["WE-00002"]["content"]
    assert {"shipTo", "comments", "deliveryNoteDate"}.isdisjoint(other["header"])
    assert other["transportUnits"] == [{"items": other["transportUnits"][0]["items"]}]
    assert other["transportUnits"][0]["items"][0]["batches"] == [{"batchIdentifier": "CH-260001", "quantity": 2.5}]


def test_remittance_advice(procuros_spec):
    built = build("REMITTANCE_ADVICE", [
        HEADER["REMITTANCE_ADVICE"](1),
        HEADER["REMITTANCE_ADVICE"](2, payee_id="KU-1000-L1", buyer_id=None, supplier_id=None, remittance_date=None),
    ], [
        line("REMITTANCE_ADVICE", 1, 1),
        line("REMITTANCE_ADVICE", 1, 2, document_number="GS-7702", document_type="CREDIT_NOTE", due_amount=-23.8,
             deduction_amount=0, deduction_reason=None, remitted_amount=-23.8),
        line("REMITTANCE_ADVICE", 2, 1, deduction_amount=None, deduction_reason=None, remitted_amount=119),
    ])
    assert built.errors.empty
    payloads = assert_valid(procuros_spec, built)
    content = payloads["ZA-00001"]["content"]
    header = content["header"]
    assert header["adviceNumber"] == "ZA-00001" and header["adviceDate"] == "2026-11-20T10:00:00+01:00"
    assert header["remittanceDate"] == "2026-11-21T00:00:00+01:00"
    assert header["paymentMethod"] == "SEPA credit transfer" and header["paymentReference"] == "SEPA-E2E-2026-000001"
    assert header["currency"] == "EUR"
    assert identifiers(header["payFrom"]) == identifiers(header["buyer"]) == [("GS1", OWN_GLN),
                                                                             ("VAT_DE", "DE811234567")]
    assert identifiers(header["payTo"]) == identifiers(header["supplier"]) == [("DUNS", "315123456")]
    invoice, credit = content["items"]
    assert invoice == {"documentNumber": "RE-77001", "documentDate": "2026-10-21T12:00:00+02:00",
                       "documentType": "INVOICE", "dueTotal": 119, "remittedTotal": 116.62, "correctionTotal": 2.38,
                       "corrections": [{"basis": 119, "reason": "Skonto 2 %", "amount": 2.38, "total": 2.38}]}
    assert credit == {"documentNumber": "GS-7702", "documentDate": "2026-10-21T12:00:00+02:00",
                      "documentType": "CREDIT_NOTE", "dueTotal": -23.8, "remittedTotal": -23.8}
    assert content["summary"] == {"dueTotal": 95.2, "remittedTotal": 92.82, "correctionTotal": 2.38}

    other = payloads["ZA-00002"]["content"]
    assert {"buyer", "supplier", "remittanceDate"}.isdisjoint(other["header"])
    assert identifiers(other["header"]["payTo"]) == [("GS1", DEPOT_GLN)]
    assert other["summary"] == {"dueTotal": 119, "remittedTotal": 119, "correctionTotal": 0}


def test_sales_report_groups_its_lines_by_location(procuros_spec):
    built = build("SALES_REPORT", [HEADER["SALES_REPORT"](1), HEADER["SALES_REPORT"](2, currency=None, comments=" ")], [
        line("SALES_REPORT", 1, 3, location_id="KU-1000-L1", sales_quantity=-1, unit_price=3.5),
        line("SALES_REPORT", 1, 1),
        line("SALES_REPORT", 1, 2, location_id="KU-1000-L1", unit_price=None, tax_rate=19),
        line("SALES_REPORT", 2, 1, sales_quantity=4.5, unit_of_measure="KGM"),
    ])
    assert built.errors.empty
    payloads = assert_valid(procuros_spec, built)
    content = payloads["SR-00001"]["content"]
    header = content["header"]
    assert header["salesReportIdentifier"] == "SR-00001"
    assert header["salesReportDate"] == "2026-11-02T06:00:00+01:00"
    assert header["salesPeriodStartDate"] == "2026-10-26T00:00:00+01:00"  # the first day of winter time
    assert header["salesPeriodEndDate"] == "2026-11-01T00:00:00+01:00"
    assert "version" not in header  # the spec's sales report has none
    assert identifiers(header["buyer"])[0] == ("GS1", OWN_GLN)
    warehouse, branch = content["locations"]
    assert identifiers(warehouse["location"]) == [("GS1", WAREHOUSE_GLN)]
    assert warehouse["items"] == [{
        "lineNumber": 1, "identifiers": [{"identifier": GTINS[0], "domain": "GS1"}],
        "description": "Bio-Haferflocken 250 g", "unitOfMeasure": "EA", "salesQuantity": 30, "unitPrice": 1.99,
        "lineNetAmount": 59.7, "lineTaxAmount": 4.18, "lineGrossAmount": 63.88, "tax": {"amount": 4.18, "percentage": 7}}]
    assert identifiers(branch["location"]) == [("GS1", DEPOT_GLN)]
    assert [i["lineNumber"] for i in branch["items"]] == [2, 3]
    no_price, returned = branch["items"]
    assert {"unitPrice", "lineNetAmount", "tax"}.isdisjoint(no_price)
    assert (returned["salesQuantity"], returned["lineNetAmount"], returned["lineGrossAmount"]) == (-1, -3.5, -3.75)
    other = payloads["SR-00002"]["content"]
    assert {"currency", "comments"}.isdisjoint(other["header"])
    assert other["locations"][0]["items"][0]["salesQuantity"] == 4.5


def test_product_catalog(procuros_spec):
    built = build("PRODUCT_CATALOG", [
        HEADER["PRODUCT_CATALOG"](1),
        HEADER["PRODUCT_CATALOG"](2, catalog_number=None, receiver_id="KU-1000", comments=None),
        HEADER["PRODUCT_CATALOG"](3, catalog_number="PK-00001", receiver_id="LI-2001"),  # same number, other customer
    ], [
        line("PRODUCT_CATALOG", 1, 1, price_valid_until=dt.date(2027, 2, 28), is_orderable=1),
        line("PRODUCT_CATALOG", 1, 2, action="deleted", unit_price=None, is_orderable=False,
             customer_article_number=None, recommended_retail_price=None, minimum_order_quantity=None),
        line("PRODUCT_CATALOG", 2, 1, action="CHANGED", quantity=6, unit_of_measure="CS"),
        line("PRODUCT_CATALOG", 3, 1),
    ])
    assert built.errors.empty
    assert list(built.payloads["identifier"]) == ["PK-00001", "catalog 2 for KU-1000", "PK-00001"]
    bodies = [json.loads(b) for b in built.payloads["body"]]
    assert_valid(procuros_spec, built)
    first = bodies[0]["content"]
    assert first["header"] == {**first["header"], "catalogNumber": "PK-00001",
                               "catalogDate": "2026-11-01T07:00:00+01:00", "version": 1}
    assert identifiers(first["header"]["sender"])[0] == ("GS1", OWN_GLN)
    assert identifiers(first["header"]["receiver"])[0] == ("GS1", CUSTOMER_GLN)
    new, deleted = first["items"]
    assert new == {"lineNumber": 1, "name": "Bio-Haferflocken 250 g",
                   "identity": {"senderPartnerId": "SKU-00001", "receiverPartnerId": "A-0001", "gtin": GTINS[0]},
                   "action": "NEW", "quantity": 1, "unitOfMeasure": "EA", "isOrderable": True, "currency": "EUR",
                   "unitPrice": 1.99, "unitPriceValidFromDate": "2026-12-01T00:00:00+01:00",
                   "unitPriceValidUntilDate": "2027-02-28T00:00:00+01:00", "recommendedRetailPrice": 2.49,
                   "minimumOrderQuantity": 6, "taxPercentage": 7}
    assert deleted["action"] == "DELETED" and deleted["isOrderable"] is False
    assert {"unitPrice", "recommendedRetailPrice", "minimumOrderQuantity"}.isdisjoint(deleted)
    assert deleted["identity"] == {"senderPartnerId": "SKU-00002", "gtin": GTINS[1]}
    second = bodies[1]["content"]
    assert "catalogNumber" not in second["header"]
    assert (second["items"][0]["action"], second["items"][0]["quantity"]) == ("CHANGED", 6)


def test_inventory_report(procuros_spec):
    built = build("INVENTORY_REPORT", [HEADER["INVENTORY_REPORT"](1)], [
        line("INVENTORY_REPORT", 1, 1),
        line("INVENTORY_REPORT", 1, 2, blocked_quantity=None, ordered_quantity=None, batch_number=None,
             available_quantity=0),
    ])
    assert built.errors.empty
    content = assert_valid(procuros_spec, built)["BB-00001"]["content"]
    header = content["header"]
    assert header["inventoryReportIdentifier"] == "BB-00001"
    assert header["inventoryReportDate"] == "2026-11-02T05:00:00+01:00"
    assert identifiers(header["warehouse"]) == [("GS1", WAREHOUSE_GLN)]
    assert identifiers(header["goodsOwner"])[0] == ("GS1", CUSTOMER_GLN)
    stocked, empty = content["items"]
    assert stocked == {"lineNumber": 1, "name": "Bio-Haferflocken 250 g",
                       "identity": {"senderPartnerId": "SKU-00001", "gtin": GTINS[0]}, "availableQuantity": 140,
                       "blockedQuantity": 5, "orderedQuantity": 12, "unitOfMeasure": "EA",
                       "batches": [{"batchIdentifier": "CH-260001", "expirationDate": "2027-05-31", "quantity": 145}]}
    assert empty["availableQuantity"] == 0
    assert {"blockedQuantity", "orderedQuantity", "batches"}.isdisjoint(empty)


def test_dispatch_instruction(procuros_spec):
    built = build("DISPATCH_INSTRUCTION", [HEADER["DISPATCH_INSTRUCTION"](1),
                                           HEADER["DISPATCH_INSTRUCTION"](2, ship_to_id=None, order_date=None)], [
        line("DISPATCH_INSTRUCTION", 1, 1, batch_number=None),
        line("DISPATCH_INSTRUCTION", 1, 2, quantity_to_ship=8, unit_price=None),
        line("DISPATCH_INSTRUCTION", 2, 1, batch_number=None),
    ])
    assert built.errors.empty
    payloads = assert_valid(procuros_spec, built)
    content = payloads["VA-00001"]["content"]
    header = content["header"]
    assert header["shipmentIdentifier"] == "VA-00001" and header["noticeDate"] == "2026-11-03T11:00:00+01:00"
    assert header["requestedDeliveryDate"] == "2026-11-06T00:00:00+01:00"
    assert header["requestedDespatchDate"] == "2026-11-04T00:00:00+01:00"
    assert identifiers(header["shipFrom"]) == [("VAT_DE", "DE176543210")]
    assert identifiers(header["shipTo"]) == [("GS1", DEPOT_GLN)]
    assert identifiers(header["customer"])[0] == ("GS1", CUSTOMER_GLN)
    assert identifiers(header["supplier"])[0] == ("GS1", OWN_GLN)
    assert (header["deliveryNotes"], header["shippingMethod"], header["currency"]) == (
        "Anlieferung Rampe 2", "Stückgut", "EUR")
    pick_any, prescribed = content["items"]
    assert pick_any == {"shippingNoticeLineNumber": 1, "orderLineNumber": 10,
                        "identifiers": [{"identifier": GTINS[0], "domain": "GS1"}],
                        "description": "Bio-Haferflocken 250 g", "orderedQuantity": 12, "shippedQuantity": 12,
                        "unitOfMeasure": "EA", "unitPrice": 1.99, "batches": []}  # batches is required
    assert prescribed["shippedQuantity"] == 8 and "unitPrice" not in prescribed
    assert prescribed["batches"] == [{"batchIdentifier": "CH-260002", "quantity": 8}]
    assert {"shipTo", "orderDate"}.isdisjoint(payloads["VA-00002"]["content"]["header"])


def test_dispatch_instruction_response(procuros_spec):
    built = build("DISPATCH_INSTRUCTION_RESPONSE", [
        HEADER["DISPATCH_INSTRUCTION_RESPONSE"](1),
        HEADER["DISPATCH_INSTRUCTION_RESPONSE"](2, carrier=None, tracking_number=None, package_id=None, unit_type=None),
    ], [
        line("DISPATCH_INSTRUCTION_RESPONSE", 1, 1),
        line("DISPATCH_INSTRUCTION_RESPONSE", 1, 2, shipped_quantity=5, open_quantity_action="delivered_later",
             batch_number=None),
        line("DISPATCH_INSTRUCTION_RESPONSE", 2, 1),
    ])
    assert built.errors.empty
    payloads = assert_valid(procuros_spec, built)
    content = payloads["VA-88001"]["content"]
    header = content["header"]
    assert header["shippingNoticeIdentifier"] == "VA-88001"
    assert header["dispatchInstructionResponseDate"] == "2026-11-04T16:00:00+01:00"
    assert header["expectedDeliveryDate"] == "2026-11-05T00:00:00+01:00"
    assert (header["carrier"], header["trackingNumber"]) == ("DB Schenker", "7723100045")
    assert identifiers(header["supplier"])[0] == ("GS1", CUSTOMER_GLN)
    assert identifiers(header["shipFrom"]) == [("GS1", WAREHOUSE_GLN)]
    [unit] = content["transportUnits"]
    assert (unit["unitIdentifier"], unit["unitType"], unit["despatchDate"]) == (
        SSCC, "EURO_PALLET", "2026-11-04T15:30:00+01:00")
    assert unit["carrier"] == {"name": "DB Schenker", "trackingNumber": "7723100045"}
    complete, short = unit["items"]
    assert complete == {"lineNumber": 1, "instructionLineNumber": 1,
                        "identifiers": [{"identifier": GTINS[0], "domain": "GS1"}],
                        "description": "Bio-Haferflocken 250 g", "orderedQuantity": 12, "shippedQuantity": 12,
                        "unitOfMeasure": "EA",
                        "batches": [{"batchIdentifier": "CH-260001", "expirationDate": "2027-05-31", "quantity": 12}]}
    assert (short["shippedQuantity"], short["openQuantityAction"]) == (5, "DELIVERED_LATER")
    other = payloads["VA-88002"]["content"]
    assert {"carrier", "trackingNumber"}.isdisjoint(other["header"])
    assert {"carrier", "unitIdentifier", "unitType"}.isdisjoint(other["transportUnits"][0])


# =========================================================================== build errors

BAD = [
    # shared checks, each on a type that has it
    Bad("no GTIN", "RECEIVAL_NOTICE", "items[line 2].identifiers", "SKU-00002", line={"gtin": None}),
    Bad("wrong GTIN check digit", "SALES_REPORT", "items[line 2].identifiers", "4006381330023",
        line={"gtin": "4006381330023"}),
    Bad("no GTIN in the identity", "PRODUCT_CATALOG", "items[line 2].identity.gtin", "SKU-00002", line={"gtin": " "}),
    Bad("GTIN of 11 digits", "INVENTORY_REPORT", "items[line 2].identity.gtin", "40063813300",
        line={"gtin": "40063813300"}),
    Bad("receiver without identifier", "RECEIVAL_NOTICE", "supplier.identifiers", "KU-NOID",
        header={"supplier_id": "KU-NOID"}),
    Bad("payee without identifier", "REMITTANCE_ADVICE", "payTo.identifiers", "KU-NOID",
        header={"payee_id": "KU-NOID"}),
    Bad("owner not in the ERP", "INVENTORY_REPORT", "goodsOwner", "KU-4711", header={"goods_owner_id": "KU-4711"}),
    Bad("no fulfilment provider", "DISPATCH_INSTRUCTION", "shipFrom", "ship_from_id", header={"ship_from_id": None}),
    Bad("bad country of the receiver", "PRODUCT_CATALOG", "receiver.postalAddress.countryCode", "Deutschland",
        header={"receiver_id": "KU-BADCOUNTRY"}),
    Bad("lower-case currency", "REMITTANCE_ADVICE", "currency", "eur", header={"currency": "eur"}),
    Bad("euro sign", "PRODUCT_CATALOG", "currency", "€", header={"currency": "€"}),
    Bad("currency of two letters", "DISPATCH_INSTRUCTION", "currency", "EU", header={"currency": "EU"}),
    Bad("unknown unit", "DISPATCH_INSTRUCTION_RESPONSE", "items[line 2].unitOfMeasure", "PCS",
        line={"unit_of_measure": "PCS"}),
    Bad("not a date", "INVENTORY_REPORT", "inventoryReportDate", "31.11.2026", header={"report_date": "31.11.2026"}),
    Bad("no date", "RECEIVAL_NOTICE", "receivalDate", "receipt_date", header={"receipt_date": None}),
    Bad("no number", "SALES_REPORT", "salesReportIdentifier", "report_number", header={"report_number": None}),
    Bad("no lines", "DISPATCH_INSTRUCTION", "items", "no lines", line=None),
    Bad("no lines", "SALES_REPORT", "locations", "no lines", line=None),
    Bad("bad best-before date", "DISPATCH_INSTRUCTION_RESPONSE", "items[line 2].batches.expirationDate", "2027-02-30",
        line={"best_before_date": "2027-02-30"}),
    # each type's own checks
    Bad("rejected without a reason", "RECEIVAL_NOTICE", "items[line 2].rejectReason", "rejected quantity 2",
        line={"rejected_quantity": 2, "received_quantity": 10}),
    Bad("unknown unit type", "RECEIVAL_NOTICE", "unitType", "Palette (unit_type)", header={"unit_type": "Palette"}),
    Bad("no received quantity", "RECEIVAL_NOTICE", "items[line 2].receivedQuantity", "received_quantity",
        line={"received_quantity": None}),
    Bad("amounts do not add up", "REMITTANCE_ADVICE", "items[line 2].remittedTotal", "remitted 100.00",
        line={"remitted_amount": 100}),
    Bad("no document number", "REMITTANCE_ADVICE", "items[line 2].documentNumber", "document_number",
        line={"document_number": ""}),
    Bad("no due amount", "REMITTANCE_ADVICE", "items[line 2].dueTotal", "12,50", line={"due_amount": "12,50"}),
    Bad("location without GLN", "SALES_REPORT", "locations.location.identifiers", "KU-NOID",
        line={"location_id": "KU-NOID"}),
    Bad("location not in the ERP", "SALES_REPORT", "locations.location", "FIL-9", line={"location_id": "FIL-9"}),
    Bad("period ends before it starts", "SALES_REPORT", "salesPeriodEndDate", "2026-10-25",
        header={"period_end": dt.date(2026, 10, 25)}),
    Bad("no sales quantity", "SALES_REPORT", "items[line 2].salesQuantity", "sales_quantity",
        line={"sales_quantity": None}),
    Bad("unknown action", "PRODUCT_CATALOG", "items[line 2].action", "UPDATE", line={"action": "UPDATE"}),
    Bad("no price for a new article", "PRODUCT_CATALOG", "items[line 2].unitPrice", "unit_price",
        line={"unit_price": None}),
    Bad("price valid until before from", "PRODUCT_CATALOG", "items[line 2].unitPriceValidUntilDate", "2026-11-30",
        line={"price_valid_until": dt.date(2026, 11, 30)}),
    Bad("negative stock", "INVENTORY_REPORT", "items[line 2].availableQuantity", "-3",
        line={"available_quantity": -3}),
    Bad("no stock figure", "INVENTORY_REPORT", "items[line 2].availableQuantity", "available_quantity",
        line={"available_quantity": None}),
    Bad("ships more than ordered", "DISPATCH_INSTRUCTION", "items[line 2].shippedQuantity", "14",
        line={"quantity_to_ship": 14}),
    Bad("shipped more than instructed", "DISPATCH_INSTRUCTION_RESPONSE", "items[line 2].shippedQuantity", "13",
        line={"shipped_quantity": 13}),
    Bad("unknown open quantity action", "DISPATCH_INSTRUCTION_RESPONSE", "items[line 2].openQuantityAction",
        "CANCELLED", line={"shipped_quantity": 2, "open_quantity_action": "CANCELLED"}),
    Bad("no shipment number", "DISPATCH_INSTRUCTION_RESPONSE", "shippingNoticeIdentifier", "shipment_number",
        header={"shipment_number": None}),
]


def batch_with(doc_type: str, bad: list[Bad]):
    return transforms_tests.batch_with(doc_type, bad, HEADER[doc_type], line, build)


@pytest.mark.parametrize("case", BAD, ids=lambda c: f"{c.doc_type}-{c.name}")
def test_a_bad_document_gets_a_build_error_naming_the_field_and_the_value(procuros_spec, case):
    built = batch_with(case.doc_type, [case])
    assert_one_bad(procuros_spec, built, case, HEADER[case.doc_type](10, **case.header)[NUMBER_COLUMN[case.doc_type]])


@pytest.mark.parametrize("doc_type", NEW_TYPES)
def test_every_type_has_its_own_bad_cases_and_keeps_them_apart(procuros_spec, doc_type):
    cases = [c for c in BAD if c.doc_type == doc_type]
    assert len(cases) >= 3
    built = batch_with(doc_type, cases)
    assert list(built.payloads["document_id"]) == ["1", "2"]
    errors = build_errors(built)
    assert sorted(errors, key=int) == [str(i) for i in range(10, 10 + len(cases))]
    for doc_id, case in enumerate(cases, start=10):
        assert list(errors[str(doc_id)]) == [case.payload_field], case.name


@pytest.mark.parametrize("doc_type", NEW_TYPES)
def test_a_chunk_without_any_lines_gives_each_document_its_error(doc_type):
    built = build(doc_type, [HEADER[doc_type](1), HEADER[doc_type](2)], [])
    part = "locations" if doc_type == "SALES_REPORT" else "items"
    assert build_errors(built) == {"1": {part: ["the document has no lines"]}, "2": {part: ["the document has no lines"]}}
    assert build(doc_type, [], []).payloads.empty


def test_a_catalog_without_a_number_is_named_by_its_id_and_receiver():
    built = build("PRODUCT_CATALOG", [HEADER["PRODUCT_CATALOG"](7, catalog_number=None, currency="euro")],
                  [line("PRODUCT_CATALOG", 7, 1)])
    assert built.errors.loc[0, "identifier"] == "catalog 7 for KU-1000"
    assert "euro" in build_errors(built)["7"]["currency"][0]


def test_a_sales_report_with_a_location_without_an_id_names_the_column():
    built = build("SALES_REPORT", [HEADER["SALES_REPORT"](1)], [line("SALES_REPORT", 1, 1, location_id=None)])
    assert build_errors(built)["1"] == {"locations.location": ["no location party (location_id is empty)"]}


def test_a_ship_to_without_identifier_is_allowed_on_a_dispatch_instruction(procuros_spec):
    address = party("KU-1000-L2", "Feinkost Albers Lager Süd")  # shipTo identifiers are optional
    built = build("DISPATCH_INSTRUCTION", [HEADER["DISPATCH_INSTRUCTION"](1, ship_to_id="KU-1000-L2")],
                  [line("DISPATCH_INSTRUCTION", 1, 1)], PARTIES + [address])
    assert built.errors.empty
    ship_to = assert_valid(procuros_spec, built)["VA-00001"]["content"]["header"]["shipTo"]
    assert ship_to["identifiers"] == []


def test_a_foreign_shop_gln_is_a_party_identifier(procuros_spec):
    shop = party("FIL-AT", "Filiale Salzburg", gln=gs1("900123450001"), country_code="AT")
    built = build("SALES_REPORT", [HEADER["SALES_REPORT"](1)], [line("SALES_REPORT", 1, 1, location_id="FIL-AT")],
                  PARTIES + [shop])
    location = assert_valid(procuros_spec, built)["SR-00001"]["content"]["locations"][0]["location"]
    assert location["postalAddress"]["countryCode"] == "AT"


# =========================================================================== the property-name check


def _built_body(doc_type: str) -> dict:
    """The payload of one good document of ``doc_type``."""
    if doc_type in HEADER:
        return json.loads(build(doc_type, [HEADER[doc_type](1)], [line(doc_type, 1, 1)]).payloads.loc[0, "body"])
    from test_procuros_transforms import HEADER as OLD_HEADER
    from test_procuros_transforms import build as build_old
    from test_procuros_transforms import line as old_line
    return json.loads(build_old(doc_type, [OLD_HEADER[doc_type](1)], [old_line(doc_type, 1, 1)]).payloads.loc[0, "body"])


def _first_item(content: dict) -> dict:
    if "items" in content:
        return content["items"][0]
    if "locations" in content:
        return content["locations"][0]["items"][0]
    return content["transportUnits"][0]["items"][0]


# An optional field each type's good payload has, in its header and in its first item.
OPTIONAL_FIELDS = {
    "ORDER": ("comments", "description"), "ORDER_RESPONSE": ("currency", "description"),
    "SHIPPING_NOTICE": ("carrier", "description"), "INVOICE": ("currency", "description"),
    "CREDIT_NOTE": ("reason", "description"), "RECEIVAL_NOTICE": ("comments", "description"),
    "REMITTANCE_ADVICE": ("paymentMethod", "documentType"), "SALES_REPORT": ("comments", "description"),
    "PRODUCT_CATALOG": ("comments", "taxPercentage"), "INVENTORY_REPORT": ("version", "name"),
    "DISPATCH_INSTRUCTION": ("deliveryNotes", "description"),
    "DISPATCH_INSTRUCTION_RESPONSE": ("trackingNumber", "description"),
}


def _misspell(obj: dict, key: str) -> str:
    wrong = key[:-2] + key[-1] + key[-2]  # the last two letters swapped
    obj[wrong] = obj.pop(key)
    return wrong


@pytest.mark.parametrize("doc_type", sorted(BUILDERS))
def test_a_misspelt_optional_field_is_caught_in_every_type(procuros_spec, doc_type):
    body = _built_body(doc_type)
    assert procuros_spec.transaction_errors(body) == []
    header_key, item_key = OPTIONAL_FIELDS[doc_type]
    # No schema forbids unknown properties, so the schema alone would pass these.
    wrong_header = _misspell(body["content"]["header"], header_key)
    wrong_item = _misspell(_first_item(body["content"]), item_key)
    assert [e for e in procuros_spec.transaction_errors(body) if "unknown property" not in e] == []
    errors = procuros_spec.transaction_errors(body)
    assert errors[0] == f"content.header.{wrong_header}: unknown property (did you mean {header_key}?)"
    assert errors[1].endswith(f"].{wrong_item}: unknown property (did you mean {item_key}?)"), errors
    assert len(errors) == 2, errors


def test_the_property_walk_follows_refs_allof_and_nested_arrays(procuros_spec):
    body = _built_body("INVENTORY_REPORT")
    batch = body["content"]["items"][0]["batches"][0]
    batch["status"] = "QUARANTINE"  # declared by the allOf beside Batch
    assert procuros_spec.transaction_errors(body) == []
    batch["expiryDate"] = "2027-05-31"
    body["content"]["header"]["warehouse"]["postalAddress"]["zip"] = "21244"
    assert procuros_spec.unknown_properties("SentInventoryReportTransaction", body) == [
        "content.header.warehouse.postalAddress.zip", "content.items[0].batches[0].expiryDate"]


def test_the_property_walk_picks_the_branch_of_a_one_of(procuros_spec):
    body = _built_body("SALES_REPORT")
    # SentTransaction is a oneOf with a discriminator on type; TransactionContent a plain oneOf.
    assert procuros_spec.unknown_properties("SentTransaction", body) == []
    body["content"]["items"] = []  # an ORDER's key, not a sales report's
    assert procuros_spec.unknown_properties("SentTransaction", body) == ["content.items"]
    content = _built_body("RECEIVAL_NOTICE")["content"]
    assert procuros_spec.unknown_properties("TransactionContent", content) == []
    content["header"]["orderIdentifier"] = "4711"  # known to other contents, not to a receival notice
    assert procuros_spec.unknown_properties("TransactionContent", content) == ["header.orderIdentifier"]


def test_a_free_form_schema_is_not_judged(procuros_spec):
    body = _built_body("PRODUCT_CATALOG")
    body["content"]["header"]["importer"] = {"anything": {"goes": 1}}  # the spec gives importer no schema
    assert procuros_spec.unknown_properties("SentProductCatalogTransaction", body) == []


# =========================================================================== the demo ERP


def test_the_demo_erp_has_good_and_bad_documents_of_every_new_type(procuros_spec, tmp_path):
    from erp_outbound_tools.demo.erp import build_demo_erp
    from erp_outbound_tools.demo.erp_more import TYPES
    from erp_outbound.steps.pending import pending_chunks
    from erp_outbound.erp.hook import make_engine

    url = f"sqlite:///{tmp_path}/erp.db"
    summary = build_demo_erp(url, 500, seed=11)
    engine = make_engine(url)
    try:
        for doc_type in NEW_TYPES:
            expected = summary["expected_outcomes_by_type"][doc_type]
            assert all(expected.values()), (doc_type, expected)  # every outcome is represented
            reasons = summary["unbuildable_by_type"][doc_type]
            assert reasons[TYPES[doc_type][4][0]] >= 1  # the type's own check among them
            payloads, failed = 0, {}
            for chunk in pending_chunks(engine, FLOWS[doc_type], chunk_size=7):
                assert list(chunk.headers.columns) == HEADER_COLUMNS[doc_type]
                assert list(chunk.lines.columns) == LINE_COLUMNS[doc_type]
                built = FLOWS[doc_type].build(chunk, TZ)
                assert_valid(procuros_spec, built)
                payloads += len(built.payloads)
                failed |= {row.identifier: row.errors for row in built.errors.itertuples()}
            assert payloads + len(failed) == summary["documents_by_type"][doc_type]
            assert len(failed) == expected["BUILD_ERROR"], (doc_type, failed)
            assert all(fields for fields in failed.values())
    finally:
        engine.dispose()


# =========================================================================== the sandbox


def post(server, body) -> requests.Response:
    return requests.post(f"{server.base_url}/v2/transactions", json=body, timeout=10,
                         headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"})


@pytest.mark.parametrize("doc_type", NEW_TYPES)
def test_the_sandbox_takes_each_new_type_and_answers_for_its_receiver(sandbox_with, procuros_spec, doc_type):
    server = sandbox_with(procuros={"spec_path": str(procuros_spec.path)})  # also validates against the spec
    body = _built_body(doc_type)
    assert post(server, body).status_code == 201
    assert post(server, body).json() == {"message": "Payload already received"}

    receiver = RECEIVER[doc_type]
    for gln, status in (("4099000000017", 202), ("4098000000018", 422)):
        body["content"]["header"][receiver]["identifiers"] = [{"identifier": gln, "domain": "GS1"}]
        answer = post(server, body)
        assert answer.status_code == status, answer.text
    assert answer.json()["errors"] == {f"content.header.{receiver}": [
        "Could not resolve party using provided identifiers"]}


@pytest.mark.parametrize("doc_type, change, field", [
    ("DISPATCH_INSTRUCTION", lambda c: c["items"][0].pop("batches"), "content.items.0.batches"),
    ("DISPATCH_INSTRUCTION", lambda c: c["items"][0].pop("shippingNoticeLineNumber"),
     "content.items.0.shippingNoticeLineNumber"),
    ("SALES_REPORT", lambda c: c["locations"][0]["location"].update(identifiers=[]),
     "content.locations.0.location.identifiers"),
    ("SALES_REPORT", lambda c: c["locations"][0]["items"][0].pop("salesQuantity"),
     "content.locations.0.items.0.salesQuantity"),
    ("PRODUCT_CATALOG", lambda c: c["items"][0].pop("identity"), "content.items.0.identity"),
    ("PRODUCT_CATALOG", lambda c: c["items"][0].update(unitPriceValidFromDate="2026-12-01"),
     "content.items.0.unitPriceValidFromDate"),
    ("RECEIVAL_NOTICE", lambda c: c["transportUnits"][0].pop("items"), "content.transportUnits.0.items"),
    ("RECEIVAL_NOTICE", lambda c: c["header"].pop("customer"), "content.header.customer"),
    ("INVENTORY_REPORT", lambda c: c["items"][0].update(unitOfMeasure="PCS"), "content.items.0.unitOfMeasure"),
    ("REMITTANCE_ADVICE", lambda c: c["header"].update(currency="eur"), "content.header.currency"),
    ("DISPATCH_INSTRUCTION_RESPONSE", lambda c: c["header"].pop("shippingNoticeIdentifier"),
     "content.header.shippingNoticeIdentifier"),
])
def test_the_sandbox_refuses_what_procuros_would(sandbox, doc_type, change, field):
    body = _built_body(doc_type)
    change(body["content"])
    answer = post(sandbox, body)
    assert answer.status_code == 422
    assert field in answer.json()["errors"], answer.json()
