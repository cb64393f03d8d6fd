"""The Procuros document types erp-outbound sends (POST /v2/transactions)."""

from __future__ import annotations

from erp_outbound.core.flows import Flow
from erp_outbound.procuros.transforms import BUILDERS

PARTIES = ("buyer_id", "supplier_id", "ship_to_id")
# A document number names one document: two pending documents with one number is an ERP error.
NUMBER_FIELDS = {"ORDER": "orderIdentifier", "ORDER_RESPONSE": "orderResponseIdentifier",
                 "SHIPPING_NOTICE": "shippingNoticeIdentifier", "INVOICE": "invoiceIdentifier",
                 "CREDIT_NOTE": "creditNoteIdentifier"}

# The pending.sql column holding that number: "Only these" in the trigger form accepts it besides the ERP id.
NUMBER_COLUMNS = {"ORDER": "order_number", "ORDER_RESPONSE": "response_number", "SHIPPING_NOTICE": "notice_number",
                  "INVOICE": "invoice_number", "CREDIT_NOTE": "credit_note_number"}

FLOWS: dict[str, Flow] = {
    doc_type: Flow("procuros", doc_type, build, party_columns=PARTIES, unique_field=NUMBER_FIELDS[doc_type],
                   number_column=NUMBER_COLUMNS.get(doc_type))
    for doc_type, build in BUILDERS.items()
}

# Where the receiving trade partner sits in each type (the sender is the ERP's own company).
RECEIVER = {"ORDER": "supplier"} | {t: "buyer" for t in BUILDERS if t != "ORDER"}
