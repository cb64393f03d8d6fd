"""Reading the demo ERP's Procuros documents back, for assertions."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import create_engine

TABLES = {
    "ORDER": ("purchase_orders", "order_number"),
    "ORDER_RESPONSE": ("order_responses", "response_number"),
    "SHIPPING_NOTICE": ("shipping_notices", "notice_number"),
    "INVOICE": ("invoices", "invoice_number"),
    "CREDIT_NOTE": ("credit_notes", "credit_note_number"),
    "RECEIVAL_NOTICE": ("goods_receipts", "receipt_number"),
    "REMITTANCE_ADVICE": ("payments", "advice_number"),
    "SALES_REPORT": ("sales_reports", "report_number"),
    "PRODUCT_CATALOG": ("product_catalogs", "catalog_number"),  # every demo catalog has a number
    "INVENTORY_REPORT": ("stock_reports", "report_number"),
    "DISPATCH_INSTRUCTION": ("dispatch_instructions", "shipment_number"),
    "DISPATCH_INSTRUCTION_RESPONSE": ("dispatch_confirmations", "shipment_number"),
}


def documents(url: str) -> pd.DataFrame:
    """Every outgoing document: type, id, number, status, error_url, attempts, last_error, transaction id and status."""
    engine = create_engine(url)
    parts = []
    with engine.connect() as conn:
        for doc_type, (table, number) in TABLES.items():
            frame = pd.read_sql(
                f"SELECT id, {number} AS number, status, error_url, attempts, last_error, "
                f"procuros_transaction_id, procuros_status FROM {table}", conn)
            parts.append(frame.assign(doc_type=doc_type))
    engine.dispose()
    frame = pd.concat(parts, ignore_index=True)
    frame["id"] = frame["id"].astype(str)
    frame["attempts"] = frame["attempts"].astype(int)
    text = ["status", "error_url", "last_error", "procuros_transaction_id", "procuros_status"]
    frame[text] = frame[text].astype(object).where(frame[text].notna(), None)
    return frame
