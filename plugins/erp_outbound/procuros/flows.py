"""The Procuros document types erp-outbound sends (POST /v2/transactions)."""

from __future__ import annotations

from erp_outbound.core.flows import Flow

# Per type: the header columns naming parties (looked up with parties.sql), the payload
# field that names the document and must not repeat among pending documents (None: may
# repeat, as one catalog number sent to several customers), and the receiving party.
TYPES: dict[str, tuple[tuple[str, ...], str | None, str]] = {
    "ORDER": (("buyer_id", "supplier_id", "ship_to_id"), "orderIdentifier", "supplier"),
    "ORDER_RESPONSE": (("buyer_id", "supplier_id", "ship_to_id"), "orderResponseIdentifier", "buyer"),
    "SHIPPING_NOTICE": (("buyer_id", "supplier_id", "ship_to_id"), "shippingNoticeIdentifier", "buyer"),
    "INVOICE": (("buyer_id", "supplier_id", "ship_to_id"), "invoiceIdentifier", "buyer"),
    "CREDIT_NOTE": (("buyer_id", "supplier_id", "ship_to_id"), "creditNoteIdentifier", "buyer"),
    "RECEIVAL_NOTICE": (("customer_id", "supplier_id", "ship_to_id"), "receivalAdviceNumber", "supplier"),
    "REMITTANCE_ADVICE": (("payer_id", "payee_id", "buyer_id", "supplier_id"), "adviceNumber", "payTo"),
    "SALES_REPORT": (("buyer_id", "supplier_id"), "salesReportIdentifier", "supplier"),
    "PRODUCT_CATALOG": (("sender_id", "receiver_id"), None, "receiver"),
    "INVENTORY_REPORT": (("warehouse_id", "goods_owner_id"), "inventoryReportIdentifier", "goodsOwner"),
    "DISPATCH_INSTRUCTION": (("ship_from_id", "ship_to_id", "customer_id", "supplier_id"), "shipmentIdentifier",
                             "shipFrom"),
    "DISPATCH_INSTRUCTION_RESPONSE": (("supplier_id", "ship_from_id", "ship_to_id"), "shippingNoticeIdentifier",
                                      "supplier"),
}
LINE_PARTIES = {"SALES_REPORT": ("location_id",)}  # each line names its selling location

# The pending.sql column holding that number: "Only these" in the trigger form accepts it besides the ERP id.
NUMBER_COLUMNS = {"ORDER": "order_number", "ORDER_RESPONSE": "response_number", "SHIPPING_NOTICE": "notice_number",
                  "INVOICE": "invoice_number", "CREDIT_NOTE": "credit_note_number",
                  "RECEIVAL_NOTICE": "receipt_number", "REMITTANCE_ADVICE": "advice_number",
                  "SALES_REPORT": "report_number", "PRODUCT_CATALOG": "catalog_number",
                  "INVENTORY_REPORT": "report_number", "DISPATCH_INSTRUCTION": "shipment_number",
                  "DISPATCH_INSTRUCTION_RESPONSE": "shipment_number"}

# Per type: its pandas builder in erp_outbound.procuros.transforms (imported when a run builds).
BUILDER_PATHS: dict[str, str] = {
    "ORDER": "order:build",
    "ORDER_RESPONSE": "order_response:build",
    "SHIPPING_NOTICE": "shipping_notice:build",
    "INVOICE": "invoice:build_invoice",
    "CREDIT_NOTE": "invoice:build_credit_note",
    "RECEIVAL_NOTICE": "receival_notice:build",
    "REMITTANCE_ADVICE": "remittance_advice:build",
    "SALES_REPORT": "sales_report:build",
    "PRODUCT_CATALOG": "product_catalog:build",
    "INVENTORY_REPORT": "inventory_report:build",
    "DISPATCH_INSTRUCTION": "dispatch_instruction:build_instruction",
    "DISPATCH_INSTRUCTION_RESPONSE": "dispatch_instruction:build_response",
}

FLOWS: dict[str, Flow] = {
    doc_type: Flow(vendor="procuros", doc_type=doc_type, builder=f"erp_outbound.procuros.transforms.{builder}",
                   party_columns=TYPES[doc_type][0], line_party_columns=LINE_PARTIES.get(doc_type, ()),
                   unique_field=TYPES[doc_type][1], number_column=NUMBER_COLUMNS[doc_type])
    for doc_type, builder in BUILDER_PATHS.items()
}

# Where the receiving trade partner sits in each type (the sender is the ERP's own company).
RECEIVER = {doc_type: receiver for doc_type, (_, _, receiver) in TYPES.items()}
