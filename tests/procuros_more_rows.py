"""Hand-made ERP rows of the seven later Procuros types, with exactly the columns of their
include/sql/procuros/<type>/pending.sql and lines.sql (the contract in include/sql/README.md)."""

from __future__ import annotations

import datetime as dt

from test_procuros_transforms import GTINS, SSCC

HEADER_COLUMNS = {
    "RECEIVAL_NOTICE": ["document_id", "receipt_number", "receipt_date", "customer_id", "supplier_id", "ship_to_id",
                        "order_number", "order_date", "delivery_note_number", "delivery_note_date", "package_id",
                        "unit_type", "comments", "version", "attempts"],
    "REMITTANCE_ADVICE": ["document_id", "advice_number", "advice_date", "remittance_date", "payer_id", "payee_id",
                          "buyer_id", "supplier_id", "payment_method", "payment_reference", "currency", "version",
                          "attempts"],
    "SALES_REPORT": ["document_id", "report_number", "report_date", "period_start", "period_end", "buyer_id",
                     "supplier_id", "currency", "comments", "attempts"],
    "PRODUCT_CATALOG": ["document_id", "catalog_number", "catalog_date", "sender_id", "receiver_id", "currency",
                        "comments", "version", "attempts"],
    "INVENTORY_REPORT": ["document_id", "report_number", "report_date", "warehouse_id", "goods_owner_id", "comments",
                         "version", "attempts"],
    "DISPATCH_INSTRUCTION": ["document_id", "shipment_number", "instruction_date", "ship_from_id", "ship_to_id",
                             "customer_id", "supplier_id", "order_number", "order_date", "requested_delivery_date",
                             "requested_despatch_date", "shipping_method", "delivery_notes", "currency", "version",
                             "attempts"],
    "DISPATCH_INSTRUCTION_RESPONSE": ["document_id", "shipment_number", "response_date", "supplier_id",
                                      "ship_from_id", "ship_to_id", "order_number", "order_date", "despatch_date",
                                      "expected_delivery_date", "carrier", "tracking_number", "package_id",
                                      "unit_type", "version", "attempts"],
}
_ITEM = ["document_id", "line_number", "product_id", "gtin", "description", "unit_of_measure"]
LINE_COLUMNS = {
    "RECEIVAL_NOTICE": _ITEM + ["order_line_number", "ordered_quantity", "shipped_quantity", "received_quantity",
                                "rejected_quantity", "reject_reason", "batch_number", "best_before_date"],
    "REMITTANCE_ADVICE": ["document_id", "line_number", "document_number", "document_date", "document_type",
                          "due_amount", "deduction_amount", "deduction_reason", "remitted_amount"],
    "SALES_REPORT": ["document_id", "line_number", "location_id", "product_id", "gtin", "description",
                     "unit_of_measure", "sales_quantity", "unit_price", "tax_rate"],
    "PRODUCT_CATALOG": _ITEM + ["customer_article_number", "action", "quantity", "is_orderable", "unit_price",
                                "price_valid_from", "price_valid_until", "recommended_retail_price",
                                "minimum_order_quantity", "tax_rate"],
    "INVENTORY_REPORT": _ITEM + ["available_quantity", "blocked_quantity", "ordered_quantity", "batch_number",
                                 "best_before_date"],
    "DISPATCH_INSTRUCTION": _ITEM + ["order_line_number", "ordered_quantity", "quantity_to_ship", "unit_price",
                                     "batch_number"],
    "DISPATCH_INSTRUCTION_RESPONSE": _ITEM + ["instruction_line_number", "ordered_quantity", "shipped_quantity",
                                              "open_quantity_action", "batch_number", "best_before_date"],
}
NUMBER_COLUMN = {"RECEIVAL_NOTICE": "receipt_number", "REMITTANCE_ADVICE": "advice_number",
                 "SALES_REPORT": "report_number", "PRODUCT_CATALOG": "catalog_number",
                 "INVENTORY_REPORT": "report_number", "DISPATCH_INSTRUCTION": "shipment_number",
                 "DISPATCH_INSTRUCTION_RESPONSE": "shipment_number"}

# Parties are those of test_procuros_transforms.PARTIES: OWN (us), OWN-L1 (our warehouse), KU-1000 (a
# customer) and KU-1000-L1 (its branch), LI-2000 / LI-2001 (suppliers), KU-NOID (no identifier).


def receival_notice(doc_id: int, **fields) -> dict:
    return {
        "document_id": doc_id, "receipt_number": f"WE-{doc_id:05d}", "receipt_date": dt.datetime(2026, 11, 5, 8, 40),
        "customer_id": "OWN", "supplier_id": "LI-2000", "ship_to_id": "OWN-L1", "order_number": f"PO-{doc_id:05d}",
        "order_date": dt.datetime(2026, 11, 2, 9, 0), "delivery_note_number": f"LF-88{doc_id:03d}",
        "delivery_note_date": dt.datetime(2026, 11, 4, 14, 0), "package_id": SSCC, "unit_type": "EURO_PALLET",
        "comments": "Ware ohne Beanstandung bis auf Bruch", "version": 1, "attempts": 0,
    } | fields


def remittance_advice(doc_id: int, **fields) -> dict:
    return {
        "document_id": doc_id, "advice_number": f"ZA-{doc_id:05d}", "advice_date": dt.datetime(2026, 11, 20, 10, 0),
        "remittance_date": dt.date(2026, 11, 21), "payer_id": "OWN", "payee_id": "LI-2000", "buyer_id": "OWN",
        "supplier_id": "LI-2000", "payment_method": "SEPA credit transfer",
        "payment_reference": f"SEPA-E2E-2026-{doc_id:06d}", "currency": "EUR", "version": 1, "attempts": 0,
    } | fields


def sales_report(doc_id: int, **fields) -> dict:
    return {
        "document_id": doc_id, "report_number": f"SR-{doc_id:05d}", "report_date": dt.datetime(2026, 11, 2, 6, 0),
        "period_start": dt.date(2026, 10, 26), "period_end": dt.date(2026, 11, 1), "buyer_id": "OWN",
        "supplier_id": "LI-2000", "currency": "EUR", "comments": "KW 44", "attempts": 0,
    } | fields


def product_catalog(doc_id: int, **fields) -> dict:
    return {
        "document_id": doc_id, "catalog_number": f"PK-{doc_id:05d}", "catalog_date": dt.datetime(2026, 11, 1, 7, 0),
        "sender_id": "OWN", "receiver_id": "KU-1000", "currency": "EUR", "comments": "Preise gültig ab 01.12.",
        "version": 1, "attempts": 0,
    } | fields


def inventory_report(doc_id: int, **fields) -> dict:
    return {
        "document_id": doc_id, "report_number": f"BB-{doc_id:05d}", "report_date": dt.datetime(2026, 11, 2, 5, 0),
        "warehouse_id": "OWN-L1", "goods_owner_id": "KU-1000", "comments": None, "version": 1, "attempts": 0,
    } | fields


def dispatch_instruction(doc_id: int, **fields) -> dict:
    return {
        "document_id": doc_id, "shipment_number": f"VA-{doc_id:05d}", "instruction_date": dt.datetime(2026, 11, 3, 11),
        "ship_from_id": "LI-2001", "ship_to_id": "KU-1000-L1", "customer_id": "KU-1000", "supplier_id": "OWN",
        "order_number": f"4711-{doc_id}", "order_date": dt.datetime(2026, 11, 1, 16, 45),
        "requested_delivery_date": dt.date(2026, 11, 6), "requested_despatch_date": dt.date(2026, 11, 4),
        "shipping_method": "Stückgut", "delivery_notes": "Anlieferung Rampe 2", "currency": "EUR", "version": 1,
        "attempts": 0,
    } | fields


def dispatch_instruction_response(doc_id: int, **fields) -> dict:
    return {
        "document_id": doc_id, "shipment_number": f"VA-88{doc_id:03d}", "response_date": dt.datetime(2026, 11, 4, 16),
        "supplier_id": "KU-1000", "ship_from_id": "OWN-L1", "ship_to_id": "KU-1000-L1",
        "order_number": f"4711-{doc_id}", "order_date": dt.datetime(2026, 11, 1, 16, 45),
        "despatch_date": dt.datetime(2026, 11, 4, 15, 30), "expected_delivery_date": dt.date(2026, 11, 5),
        "carrier": "DB Schenker", "tracking_number": "7723100045", "package_id": SSCC, "unit_type": "EURO_PALLET",
        "version": 1, "attempts": 0,
    } | fields


HEADER = {"RECEIVAL_NOTICE": receival_notice, "REMITTANCE_ADVICE": remittance_advice, "SALES_REPORT": sales_report,
          "PRODUCT_CATALOG": product_catalog, "INVENTORY_REPORT": inventory_report,
          "DISPATCH_INSTRUCTION": dispatch_instruction,
          "DISPATCH_INSTRUCTION_RESPONSE": dispatch_instruction_response}


def line(doc_type: str, doc_id: int, number: int, **fields) -> dict:
    """A line of ``doc_type`` with product ``SKU-<number>``, only the columns its lines.sql returns."""
    row = {
        "document_id": doc_id, "line_number": number, "product_id": f"SKU-{number:05d}",
        "gtin": GTINS[(number - 1) % len(GTINS)], "description": f"Bio-Haferflocken {number * 250} g",
        "unit_of_measure": "EA", "order_line_number": number * 10, "ordered_quantity": 12, "shipped_quantity": 12,
        "received_quantity": 12, "rejected_quantity": 0, "reject_reason": None, "batch_number": f"CH-26{number:04d}",
        "best_before_date": dt.date(2027, 5, 31), "document_number": f"RE-77{number:03d}",
        "document_date": dt.datetime(2026, 10, 21, 12, 0), "document_type": "INVOICE", "due_amount": 119.0,
        "deduction_amount": 2.38, "deduction_reason": "Skonto 2 %", "remitted_amount": 116.62,
        "location_id": "OWN-L1", "sales_quantity": 30, "unit_price": 1.99, "tax_rate": 7,
        "customer_article_number": f"A-{number:04d}", "action": "NEW", "quantity": 1, "is_orderable": True,
        "price_valid_from": dt.date(2026, 12, 1), "price_valid_until": None, "recommended_retail_price": 2.49,
        "minimum_order_quantity": 6, "available_quantity": 140, "blocked_quantity": 5,
        "quantity_to_ship": 12, "instruction_line_number": number, "open_quantity_action": None,
    } | fields
    return {column: row[column] for column in LINE_COLUMNS[doc_type]}
