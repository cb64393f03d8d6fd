"""pandas builders of Procuros transaction payloads, one per document type."""

from __future__ import annotations

from collections.abc import Callable

from erp_outbound.core.batch import Built, Extracted
from erp_outbound.procuros.transforms import (
    dispatch_instruction,
    inventory_report,
    invoice,
    order,
    order_response,
    product_catalog,
    receival_notice,
    remittance_advice,
    sales_report,
    shipping_notice,
)

Builder = Callable[[Extracted, str], Built]

BUILDERS: dict[str, Builder] = {
    "ORDER": order.build,
    "ORDER_RESPONSE": order_response.build,
    "SHIPPING_NOTICE": shipping_notice.build,
    "INVOICE": invoice.build_invoice,
    "CREDIT_NOTE": invoice.build_credit_note,
    "RECEIVAL_NOTICE": receival_notice.build,
    "REMITTANCE_ADVICE": remittance_advice.build,
    "SALES_REPORT": sales_report.build,
    "PRODUCT_CATALOG": product_catalog.build,
    "INVENTORY_REPORT": inventory_report.build,
    "DISPATCH_INSTRUCTION": dispatch_instruction.build_instruction,
    "DISPATCH_INSTRUCTION_RESPONSE": dispatch_instruction.build_response,
}

__all__ = ["BUILDERS", "Built", "Extracted"]
