"""The RamBase document flows: purchase-order updates and invoice forwarding."""

from __future__ import annotations

from erp_outbound.core.flows import Flow
from erp_outbound.rambase.verdicts import FORWARDED

PURCHASE_ORDER_UPDATE = "PURCHASE_ORDER_UPDATE"
INVOICE_FORWARDING = "INVOICE_FORWARDING"

FLOWS: dict[str, Flow] = {
    PURCHASE_ORDER_UPDATE: Flow(vendor="rambase", doc_type=PURCHASE_ORDER_UPDATE,
                                builder="erp_outbound.rambase.transforms:build_purchase_order_update",
                                has_lines=False, number_column="purchase_order_id"),
    INVOICE_FORWARDING: Flow(vendor="rambase", doc_type=INVOICE_FORWARDING,
                             builder="erp_outbound.rambase.transforms:build_invoice_forwarding", has_lines=False,
                             number_column="purchase_order_response_id", delivered_status=FORWARDED,
                             uncertain_check="are the items of order response {identifier} on supplier invoice "
                                             "{supplier_invoice_id}? (API operation 100860 of the order response, "
                                             "requested {requested_at})"),
}
