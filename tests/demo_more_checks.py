"""Checks of the demo ERP's seven later Procuros types, independent of the builder: each document's
planted fault and expected outcome, read back with SQL (any of the three databases)."""

from __future__ import annotations

import re
from collections import Counter

import sqlalchemy as sa

from erp_outbound_tools.demo import erp_more as demo_more
from erp_outbound_tools.demo.erp import INACTIVE_GLN_PREFIX, INVALID_CURRENCY, MISSING_GTIN, PARTNER_WITHOUT_IDENTIFIER
from erp_outbound_tools.demo.erp import UNKNOWN_GLN_PREFIX

CURRENCY = re.compile(r"^[A-Z]{3}$")

# Per type: SQL counting each document's lines with the type's own fault (``:fk`` = document id).
OWN_FAULT = {
    "RECEIVAL_NOTICE": "SELECT COUNT(*) FROM goods_receipt_lines WHERE receipt_id = :fk AND rejected_quantity > 0 "
                       "AND reject_reason IS NULL",
    "REMITTANCE_ADVICE": "SELECT COUNT(*) FROM payment_items WHERE payment_id = :fk "
                         "AND ABS(due_amount - discount_amount - paid_amount) >= 0.01",
    "SALES_REPORT": "SELECT COUNT(*) FROM sales_report_lines l JOIN partner_addresses a ON a.id = l.location_id "
                    "WHERE l.report_id = :fk AND a.gln IS NULL",
    "PRODUCT_CATALOG": "SELECT COUNT(*) FROM product_catalog_items WHERE catalog_id = :fk "
                       "AND action NOT IN ('NEW', 'CHANGED', 'DELETED')",
    "INVENTORY_REPORT": "SELECT COUNT(*) FROM stock_report_lines WHERE report_id = :fk AND available_quantity < 0",
    "DISPATCH_INSTRUCTION": "SELECT COUNT(*) FROM dispatch_instruction_lines WHERE instruction_id = :fk "
                            "AND quantity_to_ship > ordered_quantity",
    "DISPATCH_INSTRUCTION_RESPONSE": "SELECT COUNT(*) FROM dispatch_confirmation_lines WHERE confirmation_id = :fk "
                                     "AND shipped_quantity > ordered_quantity",
}


def classify(conn: sa.Connection) -> dict[str, dict]:
    out = {}
    for doc_type, (table, lines, fk, receiver, reasons) in demo_more.TYPES.items():
        has_currency = "currency" in {c["name"] for c in sa.inspect(conn).get_columns(table)}
        has_products = "product_id" in {c["name"] for c in sa.inspect(conn).get_columns(lines)}
        rows = conn.execute(sa.text(
            f"SELECT d.id, {'d.currency' if has_currency else 'NULL'}, p.gln, p.vat_id, p.duns "
            f"FROM {table} d JOIN partners p ON p.id = d.{receiver}")).all()
        outcomes, found_reasons, multi = Counter(), Counter(), []
        for doc_id, currency, gln, vat, duns in rows:
            found = []
            if conn.execute(sa.text(OWN_FAULT[doc_type]), {"fk": doc_id}).scalar():
                found.append(reasons[0])
            if has_products and conn.execute(sa.text(
                    f"SELECT COUNT(*) FROM {lines} l JOIN products pr ON pr.id = l.product_id "
                    f"WHERE l.{fk} = :fk AND pr.gtin IS NULL"), {"fk": doc_id}).scalar():
                found.append(MISSING_GTIN)
            if gln is None and vat is None and duns is None:
                found.append(PARTNER_WITHOUT_IDENTIFIER)
            if currency is not None and not CURRENCY.match(currency):
                found.append(INVALID_CURRENCY)
            if len(found) > 1:
                multi.append((doc_id, found))
            if found:
                found_reasons[found[0]] += 1
                outcomes["BUILD_ERROR"] += 1
            elif gln.startswith(INACTIVE_GLN_PREFIX):
                outcomes["NO_ACTION"] += 1
            elif gln.startswith(UNKNOWN_GLN_PREFIX):
                outcomes["REJECTED"] += 1
            else:
                outcomes["TRANSMITTED"] += 1
        out[doc_type] = {"count": len(rows), "outcomes": outcomes, "reasons": found_reasons, "multi": multi}
    return out


def check_more_against_summary(conn: sa.Connection, summary: dict) -> None:
    for doc_type, info in classify(conn).items():
        assert info["multi"] == [], f"{doc_type}: documents with more than one fault"
        assert info["count"] == summary["documents_by_type"][doc_type], doc_type
        expected = {k: v for k, v in summary["expected_outcomes_by_type"][doc_type].items() if v}
        assert dict(info["outcomes"]) == expected, doc_type
        assert {k: v for k, v in summary["unbuildable_by_type"][doc_type].items() if v} == dict(info["reasons"])
