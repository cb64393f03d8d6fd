"""The pandas builders of Procuros payloads: hand-made ERP frames in, spec-valid JSON or build errors out.

The frames carry exactly the columns of include/sql/procuros/*/pending.sql, lines.sql and
parties.sql. Every payload is checked against Procuros' OpenAPI description (schema and
unknown property names) through the ``procuros_spec`` fixture.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest

from erp_outbound.core.batch import Extracted
from erp_outbound.procuros.transforms import BUILDERS

TZ = "Europe/Berlin"

# --------------------------------------------------------------------------- the SQL's columns

PARTY_COLUMNS = [
    "party_id", "name", "gln", "vat_id", "duns", "street", "city", "postal_code", "country_code",
    "contact_first_name", "contact_last_name", "contact_email", "contact_phone", "contact_fax",
]
HEADER_COLUMNS = {
    "ORDER": ["document_id", "order_number", "order_date", "buyer_id", "supplier_id", "ship_to_id",
              "currency", "requested_delivery_date", "comments", "version", "attempts"],
    "ORDER_RESPONSE": ["document_id", "response_number", "response_date", "response_type", "buyer_id",
                       "supplier_id", "order_number", "order_date", "confirmed_delivery_date", "currency",
                       "version", "attempts"],
    "SHIPPING_NOTICE": ["document_id", "notice_number", "notice_date", "buyer_id", "supplier_id", "ship_to_id",
                        "order_number", "order_date", "despatch_date", "expected_delivery_date", "carrier",
                        "tracking_number", "package_id", "version", "attempts"],
    "INVOICE": ["document_id", "invoice_number", "invoice_date", "due_date", "buyer_id", "supplier_id",
                "order_number", "order_date", "notice_number", "notice_date", "currency", "payment_days",
                "version", "attempts"],
    "CREDIT_NOTE": ["document_id", "credit_note_number", "credit_note_date", "buyer_id", "supplier_id",
                    "invoice_number", "invoice_date", "reason", "currency", "version", "attempts"],
}
LINE_COLUMNS = {
    "ORDER": ["document_id", "line_number", "product_id", "gtin", "description", "unit_of_measure",
              "quantity", "unit_price"],
    "ORDER_RESPONSE": ["document_id", "line_number", "product_id", "gtin", "description", "unit_of_measure",
                       "ordered_quantity", "confirmed_quantity", "unit_price"],
    "SHIPPING_NOTICE": ["document_id", "line_number", "product_id", "gtin", "description", "unit_of_measure",
                        "ordered_quantity", "shipped_quantity", "batch_number"],
    "INVOICE": ["document_id", "line_number", "product_id", "gtin", "description", "unit_of_measure",
                "quantity", "unit_price", "tax_rate"],
    "CREDIT_NOTE": ["document_id", "line_number", "product_id", "gtin", "description", "unit_of_measure",
                    "quantity", "unit_price", "tax_rate"],
}
NUMBER_COLUMN = {"ORDER": "order_number", "ORDER_RESPONSE": "response_number",
                 "SHIPPING_NOTICE": "notice_number", "INVOICE": "invoice_number",
                 "CREDIT_NOTE": "credit_note_number"}


# --------------------------------------------------------------------------- GS1 codes


def gs1(body: str) -> str:
    """``body`` with its GS1 mod-10 check digit (GLN, GTIN, SSCC)."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return body + str((10 - total % 10) % 10)


OWN_GLN, CUSTOMER_GLN, DEPOT_GLN, WAREHOUSE_GLN = (gs1(f"43123450000{i}") for i in (1, 2, 3, 4))
GTINS = [gs1(f"400638133{n:03d}") for n in range(1, 6)]
SSCC = gs1("34012345" + "000000001")

# --------------------------------------------------------------------------- parties


def party(party_id: str, name: str, **fields) -> dict:
    row = dict.fromkeys(PARTY_COLUMNS)
    row.update(party_id=party_id, name=name, street="Hafenstraße 12", city="Hamburg",
               postal_code="20457", country_code="DE")
    row.update(fields)
    return row


PARTIES = [
    party("OWN", "Nordwind Handels GmbH", gln=OWN_GLN, vat_id="DE811234567",
          contact_first_name="Anna", contact_last_name="Becker", contact_email="edi@nordwind-handel.de",
          contact_phone="+49 40 123456"),
    party("OWN-L1", "Nordwind Zentrallager", gln=WAREHOUSE_GLN, street="Lagerweg 3", city="Buchholz",
          postal_code="21244"),
    # A customer with a GLN and a German VAT id.
    party("KU-1000", "Feinkost Albers KG", gln=CUSTOMER_GLN, vat_id="DE298765432", city="Bremen",
          postal_code="28195", contact_first_name="Jonas", contact_last_name="Albers"),
    party("KU-1000-L1", "Feinkost Albers Filiale Nord", gln=DEPOT_GLN, city="Bremen", postal_code="28199"),
    # Austrian supplier: an ATU VAT id is no VAT_DE identifier, the DUNS number is.
    party("LI-2000", "Alpenmilch Vertriebs GmbH", vat_id="ATU12345678", duns="315123456",
          street="Milchstraße 1", city="Salzburg", postal_code="5020", country_code="AT"),
    # Only a German VAT id.
    party("LI-2001", "Rheinmühle Schmitz e.K.", vat_id="DE176543210", city="Köln", postal_code="50667"),
    # Not identifiable: no GLN, a foreign VAT id, no DUNS.
    party("KU-NOID", "Kaffeerösterei Nowak", vat_id="PL5260001246", city="Görlitz", postal_code="02826"),
    party("KU-BADCOUNTRY", "Weinhandel Roth", gln=gs1("431234500005"), country_code="Deutschland"),
]

# --------------------------------------------------------------------------- documents


def order(doc_id: int, **fields) -> dict:
    return {
        "document_id": doc_id, "order_number": f"PO-{doc_id:05d}", "order_date": dt.datetime(2026, 11, 2, 9, 0),
        "buyer_id": "OWN", "supplier_id": "LI-2000", "ship_to_id": "OWN-L1", "currency": "EUR",
        "requested_delivery_date": dt.date(2026, 11, 10), "comments": "Rampe 4, Anlieferung 6-14 Uhr",
        "version": 1, "attempts": 0,
    } | fields


def order_response(doc_id: int, **fields) -> dict:
    return {
        "document_id": doc_id, "response_number": f"AB-{doc_id:05d}", "response_date": dt.datetime(2026, 11, 3, 10, 15),
        "response_type": "ACCEPT", "buyer_id": "KU-1000", "supplier_id": "OWN", "order_number": f"4711-{doc_id}",
        "order_date": dt.datetime(2026, 11, 1, 16, 45), "confirmed_delivery_date": dt.date(2026, 11, 9),
        "currency": "EUR", "version": 1, "attempts": 0,
    } | fields


def shipping_notice(doc_id: int, **fields) -> dict:
    return {
        "document_id": doc_id, "notice_number": f"LS-{doc_id:05d}", "notice_date": dt.datetime(2026, 11, 4, 7, 30),
        "buyer_id": "KU-1000", "supplier_id": "OWN", "ship_to_id": "KU-1000-L1", "order_number": f"4711-{doc_id}",
        "order_date": dt.datetime(2026, 11, 1, 16, 45), "despatch_date": dt.datetime(2026, 11, 4, 6, 0),
        "expected_delivery_date": dt.date(2026, 11, 5), "carrier": "DHL Freight",
        "tracking_number": "JVGL0612345678", "package_id": SSCC, "version": 1, "attempts": 0,
    } | fields


def invoice(doc_id: int, **fields) -> dict:
    return {
        "document_id": doc_id, "invoice_number": f"RE-{doc_id:05d}", "invoice_date": dt.datetime(2026, 11, 5, 12, 0),
        "due_date": dt.date(2026, 12, 5), "buyer_id": "KU-1000", "supplier_id": "OWN",
        "order_number": f"4711-{doc_id}", "order_date": dt.datetime(2026, 11, 1, 16, 45),
        "notice_number": f"LS-{doc_id:05d}", "notice_date": dt.datetime(2026, 11, 4, 7, 30),
        "currency": "EUR", "payment_days": 30, "version": 1, "attempts": 0,
    } | fields


def credit_note(doc_id: int, **fields) -> dict:
    return {
        "document_id": doc_id, "credit_note_number": f"GS-{doc_id:05d}",
        "credit_note_date": dt.datetime(2026, 11, 20, 11, 0), "buyer_id": "KU-1000", "supplier_id": "OWN",
        "invoice_number": f"RE-{doc_id:05d}", "invoice_date": dt.datetime(2026, 11, 5, 12, 0),
        "reason": "Bruch beim Transport", "currency": "EUR", "version": 1, "attempts": 0,
    } | fields


HEADER = {"ORDER": order, "ORDER_RESPONSE": order_response, "SHIPPING_NOTICE": shipping_notice,
          "INVOICE": invoice, "CREDIT_NOTE": credit_note}


def line(doc_type: str, doc_id: int, number: int, **fields) -> dict:
    """A line of ``doc_type`` with product ``SKU-<number>`` and only the columns its lines.sql returns."""
    row = {
        "document_id": doc_id, "line_number": number, "product_id": f"SKU-{number:05d}",
        "gtin": GTINS[(number - 1) % len(GTINS)], "description": f"Bio-Haferflocken {number * 250} g",
        "unit_of_measure": "EA", "quantity": 4, "unit_price": 12.9, "tax_rate": 19,
        "ordered_quantity": 4, "confirmed_quantity": 4, "shipped_quantity": 4, "batch_number": f"CH-26{number:04d}",
    } | fields
    return {column: row[column] for column in LINE_COLUMNS[doc_type]}


# --------------------------------------------------------------------------- building and reading


def build(doc_type: str, headers: list[dict], lines: list[dict], parties: list[dict] = PARTIES):
    frames = Extracted(
        pd.DataFrame(headers, columns=HEADER_COLUMNS[doc_type]),
        pd.DataFrame(lines, columns=LINE_COLUMNS[doc_type]),
        pd.DataFrame(parties, columns=PARTY_COLUMNS),
    )
    return BUILDERS[doc_type](frames, TZ)


def bodies(built) -> dict[str, dict]:
    """Payload per document number."""
    return {row.identifier: json.loads(row.body) for row in built.payloads.itertuples()}


def build_errors(built) -> dict[str, dict[str, list[str]]]:
    """Build errors per document id."""
    return {row.document_id: row.errors for row in built.errors.itertuples()}


def empty_values(value, path: str = "") -> list[str]:
    """Paths of nulls, empty strings and empty objects anywhere in a payload."""
    if value is None or value == "" or value == {}:
        return [path or "<root>"]
    if isinstance(value, dict):
        return [p for key, item in value.items() for p in empty_values(item, f"{path}.{key}")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in empty_values(item, f"{path}[{i}]")]
    return []


def assert_valid(spec, built) -> dict[str, dict]:
    """Every payload follows the spec and has no empty values; returns the payloads by number."""
    payloads = bodies(built)
    for number, body in payloads.items():
        assert spec.transaction_errors(body) == [], number
        assert empty_values(body) == [], number
    return payloads


def identifiers(party_json: dict) -> list[tuple[str, str]]:
    return [(i["domain"], i["identifier"]) for i in party_json["identifiers"]]


def money(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP)


# =========================================================================== one test per type


def test_the_gs1_helper_knows_a_published_gtin():
    assert gs1("400638133393") == "4006381333931"


def test_order(procuros_spec):
    lines = [  # deliberately out of order
        line("ORDER", 2, 2, quantity=6, unit_of_measure="kgm", unit_price=None),
        line("ORDER", 1, 3, quantity=2.5),
        line("ORDER", 1, 1, quantity=10, unit_price=3.1234),
        line("ORDER", 2, 1),
        line("ORDER", 1, 2, description="   "),
    ]
    built = build("ORDER", [
        order(1),
        order(2, order_date=dt.datetime(2026, 7, 15, 14, 30), supplier_id="LI-2001", ship_to_id=None,
              requested_delivery_date=None, comments="  ", version=3),
    ], lines)

    assert built.errors.empty
    assert list(built.payloads["document_id"]) == ["1", "2"]
    payloads = assert_valid(procuros_spec, built)
    first, second = payloads["PO-00001"], payloads["PO-00002"]
    assert first["type"] == "ORDER"

    header = first["content"]["header"]
    assert header["orderIdentifier"] == "PO-00001"
    assert header["orderDate"] == "2026-11-02T09:00:00+01:00"  # winter time in Berlin
    assert header["requestedDeliveryDate"] == "2026-11-10T00:00:00+01:00"
    assert header["currency"] == "EUR"
    assert header["comments"] == "Rampe 4, Anlieferung 6-14 Uhr"
    assert header["version"] == 1
    assert identifiers(header["buyer"]) == [("GS1", OWN_GLN), ("VAT_DE", "DE811234567")]
    assert header["buyer"]["contacts"] == [{"firstName": "Anna", "lastName": "Becker",
                                            "email": "edi@nordwind-handel.de", "phone": "+49 40 123456"}]
    assert header["buyer"]["postalAddress"]["countryCode"] == "DE"
    assert identifiers(header["supplier"]) == [("DUNS", "315123456")]  # the ATU VAT id is not VAT_DE
    assert "contacts" not in header["supplier"]
    assert header["supplier"]["postalAddress"] == {"name": "Alpenmilch Vertriebs GmbH", "street": "Milchstraße 1",
                                                   "city": "Salzburg", "postalCode": "5020", "countryCode": "AT"}
    assert identifiers(header["shipTo"]) == [("GS1", WAREHOUSE_GLN)]

    items = first["content"]["items"]
    assert [i["lineNumber"] for i in items] == [1, 2, 3]
    assert items[0] == {"lineNumber": 1, "identifiers": [{"identifier": GTINS[0], "domain": "GS1"}],
                        "isDepositItem": False, "quantity": 10, "unitOfMeasure": "EA",
                        "description": "Bio-Haferflocken 250 g", "unitPrice": 3.1234}
    assert "description" not in items[1]  # blank text is left out
    assert items[2]["quantity"] == 2.5

    header = second["content"]["header"]
    assert header["orderDate"] == "2026-07-15T14:30:00+02:00"  # summer time
    assert "shipTo" not in header  # ship_to_id NULL
    assert "requestedDeliveryDate" not in header and "comments" not in header
    assert header["version"] == 3
    assert identifiers(header["supplier"]) == [("VAT_DE", "DE176543210")]
    items = second["content"]["items"]
    assert [i["lineNumber"] for i in items] == [1, 2]
    assert items[1]["unitOfMeasure"] == "KGM" and "unitPrice" not in items[1]


def test_order_response(procuros_spec):
    built = build("ORDER_RESPONSE", [
        order_response(1, response_type="change"),
        order_response(2, confirmed_delivery_date=None, order_date=None),
        order_response(3, response_type="REJECT"),  # a rejection of the whole order: no lines
    ], [
        line("ORDER_RESPONSE", 1, 2, ordered_quantity=10, confirmed_quantity=0),
        line("ORDER_RESPONSE", 1, 1, ordered_quantity=12, confirmed_quantity=8, unit_price=2.49),
        line("ORDER_RESPONSE", 2, 1, unit_price=None),
    ])

    assert built.errors.empty
    payloads = assert_valid(procuros_spec, built)
    content = payloads["AB-00001"]["content"]
    header = content["header"]
    assert header["type"] == "CHANGE"
    assert header["orderResponseIdentifier"] == "AB-00001"
    assert header["orderResponseDate"] == "2026-11-03T10:15:00+01:00"
    assert header["orderIdentifier"] == "4711-1"
    assert header["orderDate"] == "2026-11-01T16:45:00+01:00"
    assert header["confirmedDeliveryDate"] == "2026-11-09T00:00:00+01:00"
    assert identifiers(header["buyer"]) == [("GS1", CUSTOMER_GLN), ("VAT_DE", "DE298765432")]
    assert identifiers(header["supplier"]) == [("GS1", OWN_GLN), ("VAT_DE", "DE811234567")]
    assert [(i["lineNumber"], i["orderedQuantity"], i["confirmedQuantity"]) for i in content["items"]] == [
        (1, 12, 8), (2, 10, 0)]
    assert content["items"][0]["unitPrice"] == 2.49

    header = payloads["AB-00002"]["content"]["header"]
    assert header["type"] == "ACCEPT"
    assert "confirmedDeliveryDate" not in header and "orderDate" not in header
    assert "unitPrice" not in payloads["AB-00002"]["content"]["items"][0]
    assert "items" not in payloads["AB-00003"]["content"]


def test_shipping_notice(procuros_spec):
    built = build("SHIPPING_NOTICE", [
        shipping_notice(1),
        shipping_notice(2, ship_to_id=None, carrier=None, tracking_number="", despatch_date=None),
    ], [
        line("SHIPPING_NOTICE", 1, 2, ordered_quantity=5, shipped_quantity=5, batch_number=None),
        line("SHIPPING_NOTICE", 1, 1, ordered_quantity=12, shipped_quantity=10, unit_of_measure="CS"),
        line("SHIPPING_NOTICE", 2, 1, shipped_quantity=1.5, unit_of_measure="KGM"),
    ])

    assert built.errors.empty
    payloads = assert_valid(procuros_spec, built)
    content = payloads["LS-00001"]["content"]
    header = content["header"]
    assert header["shippingNoticeIdentifier"] == "LS-00001"
    assert header["shippingNoticeDate"] == "2026-11-04T07:30:00+01:00"
    assert header["despatchDate"] == "2026-11-04T06:00:00+01:00"
    assert header["expectedDeliveryDate"] == "2026-11-05T00:00:00+01:00"
    assert header["carrier"] == "DHL Freight" and header["trackingNumber"] == "JVGL0612345678"
    assert identifiers(header["shipTo"]) == [("GS1", DEPOT_GLN)]
    [unit] = content["transportUnits"]
    assert unit["unitIdentifier"] == SSCC and unit["unitType"] == "PALLET"
    assert [(i["lineNumber"], i["orderedQuantity"], i["shippedQuantity"]) for i in unit["items"]] == [
        (1, 12, 10), (2, 5, 5)]
    assert unit["items"][0]["batches"] == [{"batchIdentifier": "CH-260001", "quantity": 10}]
    assert unit["items"][0]["unitOfMeasure"] == "CS"
    assert "batches" not in unit["items"][1]

    header = payloads["LS-00002"]["content"]["header"]
    assert "shipTo" not in header
    assert {"carrier", "trackingNumber", "despatchDate"}.isdisjoint(header)
    assert payloads["LS-00002"]["content"]["transportUnits"][0]["items"][0]["shippedQuantity"] == 1.5


INVOICE_LINES = [  # (quantity, unit price, tax rate): no amount ends on half a cent
    (4, 12.90, 19),
    (10, 1.99, 7),
    (2, 24.95, 19),
]


def expected_amounts(rows):
    """Net, tax and gross of a document and its tax breakdown, in exact decimal arithmetic."""
    per_rate: dict[int, list[Decimal]] = {}
    for quantity, price, rate in rows:
        net = money(Decimal(str(quantity)) * Decimal(str(price)))
        tax = money(net * rate / 100)
        total = per_rate.setdefault(rate, [Decimal(0), Decimal(0)])
        total[0] += net
        total[1] += tax
    net = sum(n for n, _ in per_rate.values())
    tax = sum(t for _, t in per_rate.values())
    breakdown = {rate: (n, t) for rate, (n, t) in per_rate.items()}
    return net, tax, net + tax, breakdown


def summary_decimals(summary: dict):
    breakdown = {item["percentage"]: (money(item["taxableAmount"]), money(item["taxAmount"]))
                 for item in summary["tax"]["items"]}
    return money(summary["netAmount"]), money(summary["tax"]["total"]), money(summary["grossAmount"]), breakdown


@pytest.mark.parametrize("doc_type", ["INVOICE", "CREDIT_NOTE"])
def test_billing_documents_compute_their_summary(procuros_spec, doc_type):
    number = NUMBER_COLUMN[doc_type]
    headers = [HEADER[doc_type](1), HEADER[doc_type](2)]
    lines = [line(doc_type, 1, n, quantity=q, unit_price=p, tax_rate=r)
             for n, (q, p, r) in reversed(list(enumerate(INVOICE_LINES, start=1)))]
    lines.append(line(doc_type, 2, 1, quantity=1, unit_price=49.0, tax_rate=7))
    built = build(doc_type, headers, lines)

    assert built.errors.empty
    payloads = assert_valid(procuros_spec, built)
    content = payloads[headers[0][number]]["content"]
    assert [i["lineNumber"] for i in content["items"]] == [1, 2, 3]
    assert content["items"][0]["tax"] == {"amount": 9.8, "percentage": 19}
    assert content["items"][0]["unitPrice"] == 12.9 and content["items"][0]["isInvoicedItem"] is True

    net, tax, gross, breakdown = expected_amounts(INVOICE_LINES)
    assert (net, tax, gross) == (Decimal("121.40"), Decimal("20.67"), Decimal("142.07"))  # the sums, by hand
    assert summary_decimals(content["summary"]) == (net, tax, gross, breakdown)
    summary = content["summary"]
    assert summary["subtotalAmount"] == summary["netAmount"] == 121.4
    assert summary["dueAmount"] == summary["grossAmount"] == 142.07
    assert summary["totalCharges"] == 0 and summary["totalAllowances"] == 0
    assert {i["category"] for i in summary["tax"]["items"]} == {"sales"}

    other = payloads[headers[1][number]]["content"]["summary"]
    assert summary_decimals(other) == (Decimal("49.00"), Decimal("3.43"), Decimal("52.43"),
                                       {7: (Decimal("49.00"), Decimal("3.43"))})


def test_invoice_header(procuros_spec):
    built = build("INVOICE", [invoice(1), invoice(2, payment_days=None, due_date=None)],
                  [line("INVOICE", 1, 1), line("INVOICE", 2, 1)])

    payloads = assert_valid(procuros_spec, built)
    header = payloads["RE-00001"]["content"]["header"]
    assert header["invoiceIdentifier"] == "RE-00001"
    assert header["invoiceDate"] == "2026-11-05T12:00:00+01:00"
    assert header["invoiceDueDate"] == "2026-12-05T00:00:00+01:00"
    assert header["shippingNoticeIdentifier"] == "LS-00001"
    assert header["shippingNoticeDate"] == "2026-11-04T07:30:00+01:00"
    assert header["orderIdentifier"] == "4711-1" and header["orderDate"] == "2026-11-01T16:45:00+01:00"
    assert header["paymentTerms"] == [{"payInNumberOfDays": 30, "percentage": 0}]
    assert identifiers(header["buyer"]) == [("GS1", CUSTOMER_GLN), ("VAT_DE", "DE298765432")]
    assert identifiers(header["supplier"]) == [("GS1", OWN_GLN), ("VAT_DE", "DE811234567")]
    header = payloads["RE-00002"]["content"]["header"]
    assert "paymentTerms" not in header and "invoiceDueDate" not in header


def test_credit_note_header(procuros_spec):
    built = build("CREDIT_NOTE", [credit_note(1), credit_note(2, invoice_number=None, invoice_date=None, reason="")],
                  [line("CREDIT_NOTE", 1, 1), line("CREDIT_NOTE", 2, 1)])

    payloads = assert_valid(procuros_spec, built)
    header = payloads["GS-00001"]["content"]["header"]
    assert header["creditNoteIdentifier"] == "GS-00001"
    assert header["creditNoteDate"] == "2026-11-20T11:00:00+01:00"
    assert header["invoiceIdentifier"] == "RE-00001"
    assert header["invoiceDate"] == "2026-11-05T12:00:00+01:00"
    assert header["reason"] == "Bruch beim Transport"
    header = payloads["GS-00002"]["content"]["header"]
    assert {"invoiceIdentifier", "invoiceDate", "reason"}.isdisjoint(header)


def test_payloads_carry_document_id_number_and_attempts():
    built = build("ORDER", [order(7, attempts=2), order(9)], [line("ORDER", 7, 1), line("ORDER", 9, 1)])
    assert built.payloads[["document_id", "identifier", "attempts"]].values.tolist() == [
        ["7", "PO-00007", 2], ["9", "PO-00009", 0]]


def test_text_is_escaped_not_refused(procuros_spec):
    """Very long, non-ASCII, quoted and control-character text is JSON-escaped and validates."""
    tricky = 'Käse „Allgäuer“ 45 % – Größe XL ✓ 😀 "quoted" back\\slash\ttab\nnew line ", "injected": true, "x": "'
    long_text = "Bio-Vollmilch 3,8 % Fett, laktosefrei, ultrahocherhitzt; " * 300
    customer = party("KU-1001", "Müller & Söhne Lebensmittel GmbH & Co. KG – Ñandú 北京",
                     gln=gs1("431234500006"), street="Königsallee 1 ½", contact_last_name="O'Brien-Łukasiewicz")
    built = build("ORDER_RESPONSE", [order_response(1, buyer_id="KU-1001", order_number=tricky)], [
        line("ORDER_RESPONSE", 1, 1, description=long_text),
        line("ORDER_RESPONSE", 1, 2, description=tricky),
    ], PARTIES + [customer])

    assert built.errors.empty
    body = assert_valid(procuros_spec, built)["AB-00001"]
    header, items = body["content"]["header"], body["content"]["items"]
    assert header["orderIdentifier"] == tricky.strip()
    assert "injected" not in header
    assert header["buyer"]["name"] == customer["name"]
    assert header["buyer"]["postalAddress"]["street"] == "Königsallee 1 ½"
    assert header["buyer"]["contacts"] == [{"lastName": "O'Brien-Łukasiewicz"}]
    assert items[0]["description"] == long_text.strip() and len(items[0]["description"]) > 17_000
    assert items[1]["description"] == tricky


def test_a_chunk_without_any_lines_reports_every_document():
    built = build("ORDER", [order(1), order(2)], [])
    assert built.payloads.empty
    assert build_errors(built) == {"1": {"items": ["the document has no lines"]},
                                   "2": {"items": ["the document has no lines"]}}


# =========================================================================== build errors


@dataclass
class Bad:
    """One reason a document cannot be built: what to change, and the error it must give."""

    name: str
    doc_type: str
    payload_field: str  # the payload field the error names
    value: str  # the ERP value (or column) the message names
    header: dict = field(default_factory=dict)  # changes to the bad document's header
    line: dict | None = field(default_factory=dict)  # changes to its line 2; None = no lines at all


BAD = [
    Bad("missing GTIN", "INVOICE", "items[line 2].identifiers", "SKU-00002", line={"gtin": None}),
    Bad("blank GTIN", "ORDER", "items[line 2].identifiers", "SKU-00002", line={"gtin": "  "}),
    Bad("GTIN with a letter", "INVOICE", "items[line 2].identifiers", "400638133393X",
        line={"gtin": "400638133393X"}),
    Bad("GTIN of 5 digits", "SHIPPING_NOTICE", "items[line 2].identifiers", "12345", line={"gtin": "12345"}),
    Bad("buyer without identifier", "INVOICE", "buyer.identifiers", "KU-NOID", header={"buyer_id": "KU-NOID"}),
    Bad("supplier without identifier", "ORDER", "supplier.identifiers", "KU-NOID",
        header={"supplier_id": "KU-NOID"}),
    Bad("unknown buyer", "CREDIT_NOTE", "buyer", "KU-9999", header={"buyer_id": "KU-9999"}),
    Bad("unknown ship-to", "ORDER", "shipTo", "OWN-L9", header={"ship_to_id": "OWN-L9"}),
    Bad("no supplier", "INVOICE", "supplier", "supplier_id", header={"supplier_id": None}),
    Bad("lower-case currency", "INVOICE", "currency", "eur", header={"currency": "eur"}),
    Bad("two-letter currency", "ORDER_RESPONSE", "currency", "EU", header={"currency": "EU"}),
    Bad("bad country code", "INVOICE", "buyer.postalAddress.countryCode", "KU-BADCOUNTRY",
        header={"buyer_id": "KU-BADCOUNTRY"}),
    Bad("impossible date", "INVOICE", "invoiceDate", "2026-13-45", header={"invoice_date": "2026-13-45"}),
    Bad("impossible optional date", "ORDER", "requestedDeliveryDate", "2026-02-30",
        header={"requested_delivery_date": "2026-02-30"}),
    Bad("no date", "SHIPPING_NOTICE", "shippingNoticeDate", "notice_date", header={"notice_date": None}),
    Bad("no invoice number", "INVOICE", "invoiceIdentifier", "invoice_number", header={"invoice_number": None}),
    Bad("blank order number", "ORDER", "orderIdentifier", "order_number", header={"order_number": " "}),
    Bad("no quantity", "INVOICE", "items[line 2].quantity", "quantity", line={"quantity": None}),
    Bad("negative quantity", "ORDER", "items[line 2].quantity", "quantity", line={"quantity": -3}),
    Bad("no confirmed quantity", "ORDER_RESPONSE", "items[line 2].confirmedQuantity", "confirmed_quantity",
        line={"confirmed_quantity": None}),
    Bad("no shipped quantity", "SHIPPING_NOTICE", "items[line 2].shippedQuantity", "shipped_quantity",
        line={"shipped_quantity": None}),
    Bad("no unit price", "CREDIT_NOTE", "items[line 2].unitPrice", "unit_price", line={"unit_price": None}),
    Bad("no tax rate", "INVOICE", "items[line 2].tax.percentage", "tax_rate", line={"tax_rate": None}),
    Bad("no lines", "INVOICE", "items", "no lines", line=None),
    Bad("no lines", "SHIPPING_NOTICE", "items", "no lines", line=None),
    Bad("unknown unit of measure", "ORDER", "items[line 2].unitOfMeasure", "PCS", line={"unit_of_measure": "PCS"}),
    Bad("unknown response type", "ORDER_RESPONSE", "type", "MAYBE", header={"response_type": "maybe"}),
]


def batch_with(doc_type: str, bad: list[Bad], make=None, make_line=line, build_with=build):
    """Good documents 1 and 2, then one document per reason (ids 10, 11, ...), each with two lines."""
    make = make or HEADER[doc_type]
    headers = [make(1), make(2)]
    lines = [make_line(doc_type, doc_id, n) for doc_id in (1, 2) for n in (1, 2)]
    for doc_id, case in enumerate(bad, start=10):
        headers.append(make(doc_id, **case.header))
        if case.line is not None:
            lines += [make_line(doc_type, doc_id, 1), make_line(doc_type, doc_id, 2, **case.line)]
    return build_with(doc_type, headers, lines)


def assert_one_bad(spec, built, case: Bad, number: str | None) -> None:
    """Documents 1 and 2 built and valid; document 10 failed on exactly the case's field, showing its value."""
    assert list(built.payloads["document_id"]) == ["1", "2"]
    assert_valid(spec, built)
    errors = build_errors(built)
    assert list(errors) == ["10"]
    assert list(errors["10"]) == [case.payload_field]
    [message] = errors["10"][case.payload_field]
    assert case.value in message
    if number is not None:  # see test_a_document_without_a_number_keeps_a_text_identifier
        assert built.errors.loc[0, "identifier"] == number


@pytest.mark.parametrize("case", BAD, ids=lambda c: f"{c.doc_type}-{c.name}")
def test_a_bad_document_gets_a_build_error_and_the_good_ones_still_build(procuros_spec, case):
    built = batch_with(case.doc_type, [case])
    assert_one_bad(procuros_spec, built, case, HEADER[case.doc_type](10, **case.header)[NUMBER_COLUMN[case.doc_type]])


@pytest.mark.parametrize("doc_type", sorted({c.doc_type for c in BAD}))
def test_many_bad_documents_in_one_batch_keep_their_own_errors(procuros_spec, doc_type):
    cases = [c for c in BAD if c.doc_type == doc_type]
    built = batch_with(doc_type, cases)

    assert list(built.payloads["document_id"]) == ["1", "2"]
    assert_valid(procuros_spec, built)
    errors = build_errors(built)
    assert sorted(errors, key=int) == [str(i) for i in range(10, 10 + len(cases))]
    for doc_id, case in enumerate(cases, start=10):
        assert list(errors[str(doc_id)]) == [case.payload_field], case.name
        assert case.value in errors[str(doc_id)][case.payload_field][0], case.name


def test_a_document_with_several_problems_lists_them_all():
    built = build("INVOICE", [invoice(1, currency="eur", buyer_id="KU-NOID")], [
        line("INVOICE", 1, 1, gtin=None), line("INVOICE", 1, 2, unit_of_measure="PCS")])
    assert build_errors(built)["1"] == {
        "items[line 1].identifiers": ["product SKU-00001 has no GTIN"],
        "items[line 2].unitOfMeasure": ["unit of measure PCS is not a Procuros unit"],
        "buyer.identifiers": ["buyer party KU-NOID has no GLN, German VAT id or DUNS"],
        "currency": ["currency eur is not an ISO 4217 code"],
    }


def test_a_ship_to_without_identifier_is_allowed(procuros_spec):
    address = party("KU-1000-L2", "Feinkost Albers Lager Süd")  # no GLN: shipTo identifiers are optional
    built = build("SHIPPING_NOTICE", [shipping_notice(1, ship_to_id="KU-1000-L2")],
                  [line("SHIPPING_NOTICE", 1, 1)], PARTIES + [address])
    assert built.errors.empty
    ship_to = assert_valid(procuros_spec, built)["LS-00001"]["content"]["header"]["shipTo"]
    assert ship_to["name"] == "Feinkost Albers Lager Süd" and ship_to["identifiers"] == []


# =========================================================================== known defects


def test_a_bad_country_message_names_the_country_code():
    built = build("INVOICE", [invoice(1, buyer_id="KU-BADCOUNTRY")], [line("INVOICE", 1, 1)])
    [message] = build_errors(built)["1"]["buyer.postalAddress.countryCode"]
    assert "Deutschland" in message


def test_a_document_without_a_number_keeps_a_text_identifier():
    built = build("INVOICE", [invoice(1, invoice_number=None)], [line("INVOICE", 1, 1)])
    identifier = built.errors.loc[0, "identifier"]
    assert isinstance(identifier, str)
    json.dumps({"transactionIdentifier": identifier}, allow_nan=False)


def test_a_malformed_contact_email_is_a_build_error_not_an_invalid_payload(procuros_spec):
    customer = party("KU-1002", "Bäckerei Sommer", gln=gs1("431234500007"), contact_email="edi at sommer.de")
    built = build("INVOICE", [invoice(1, buyer_id="KU-1002"), invoice(2)],
                  [line("INVOICE", 1, 1), line("INVOICE", 2, 1)], PARTIES + [customer])
    assert_valid(procuros_spec, built)
    assert "edi at sommer.de" in json.dumps(build_errors(built).get("1"))


def test_a_time_in_the_repeated_autumn_hour_is_a_date(procuros_spec):
    built = build("INVOICE", [invoice(1, invoice_date=dt.datetime(2026, 10, 25, 2, 30))], [line("INVOICE", 1, 1)])
    assert build_errors(built) == {}
    header = assert_valid(procuros_spec, built)["RE-00001"]["content"]["header"]
    assert header["invoiceDate"] in ("2026-10-25T02:30:00+02:00", "2026-10-25T02:30:00+01:00")


def test_a_time_in_the_skipped_spring_hour_moves_forward(procuros_spec):
    built = build("INVOICE", [invoice(1, invoice_date=dt.datetime(2026, 3, 29, 2, 30))], [line("INVOICE", 1, 1)])
    header = assert_valid(procuros_spec, built)["RE-00001"]["content"]["header"]
    assert header["invoiceDate"] == "2026-03-29T03:00:00+02:00"


def test_amounts_on_half_a_cent_round_half_up():
    built = build("INVOICE", [invoice(1)], [line("INVOICE", 1, 1, quantity=1, unit_price=1.5, tax_rate=7)])
    content = bodies(built)["RE-00001"]["content"]
    assert content["items"][0]["tax"]["amount"] == 0.11
    assert summary_decimals(content["summary"])[:3] == (Decimal("1.50"), Decimal("0.11"), Decimal("1.61"))


def test_duplicate_line_numbers_are_a_build_error():
    built = build("INVOICE", [invoice(1), invoice(2)], [
        line("INVOICE", 1, 1), line("INVOICE", 1, 2), line("INVOICE", 1, 2, product_id="SKU-00099"),
        line("INVOICE", 2, 1)])
    assert list(built.payloads["document_id"]) == ["2"]
    fields = build_errors(built)["1"]
    assert any(name.startswith("items[line 2]") for name in fields)


def test_integer_party_ids_with_a_null_ship_to(procuros_spec):
    parties = [dict(p, party_id=str(i)) for i, p in enumerate(PARTIES[:4], start=1)]
    frame_parties = pd.DataFrame(parties, columns=PARTY_COLUMNS).astype({"party_id": int})
    headers = pd.DataFrame([order(1, buyer_id=1, supplier_id=3, ship_to_id=2.0),
                            order(2, buyer_id=1, supplier_id=3, ship_to_id=None)],
                           columns=HEADER_COLUMNS["ORDER"])
    assert headers["ship_to_id"].dtype == "float64"  # what read_sql gives for an INTEGER column with a NULL
    lines = pd.DataFrame([line("ORDER", 1, 1), line("ORDER", 2, 1)], columns=LINE_COLUMNS["ORDER"])
    built = BUILDERS["ORDER"](Extracted(headers, lines, frame_parties), TZ)
    assert build_errors(built) == {}
    header = assert_valid(procuros_spec, built)["PO-00001"]["content"]["header"]
    assert identifiers(header["shipTo"]) == [("GS1", WAREHOUSE_GLN)]


# =========================================================================== the demo ERP


def test_every_demo_document_builds_or_fails_as_planned(procuros_spec, tmp_path):
    from erp_outbound.core.flows import flows
    from erp_outbound_tools.demo.erp import build_demo_erp
    from erp_outbound.steps.pending import pending_chunks
    from erp_outbound.erp.hook import make_engine
    from procuros_more_rows import HEADER_COLUMNS as MORE_HEADERS
    from procuros_more_rows import LINE_COLUMNS as MORE_LINES

    headers, lines = HEADER_COLUMNS | MORE_HEADERS, LINE_COLUMNS | MORE_LINES  # all twelve types
    url = f"sqlite:///{tmp_path}/erp.db"
    summary = build_demo_erp(url, 400, seed=9)
    engine = make_engine(url)
    built_errors = 0
    try:
        for doc_type, flow in flows("procuros").items():
            payloads = errors = 0
            for chunk in pending_chunks(engine, flow, chunk_size=50):
                assert list(chunk.headers.columns) == headers[doc_type]
                assert list(chunk.lines.columns) == lines[doc_type]
                assert list(chunk.parties.columns) == PARTY_COLUMNS
                built = flow.build(chunk, TZ)
                assert_valid(procuros_spec, built)
                for row in built.errors.itertuples():
                    assert row.errors, row.identifier
                payloads += len(built.payloads)
                errors += len(built.errors)
            assert payloads + errors == summary["documents_by_type"][doc_type]
            assert errors == summary["expected_outcomes_by_type"][doc_type]["BUILD_ERROR"], doc_type
            built_errors += errors
    finally:
        engine.dispose()
    assert built_errors == summary["expected_outcomes"]["BUILD_ERROR"] > 0
