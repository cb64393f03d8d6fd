"""pandas builders of Procuros transaction payloads, one per document type."""

from __future__ import annotations

from collections.abc import Callable

from erp_outbound.core.batch import Built, Extracted
from erp_outbound.procuros.transforms import invoice, order, order_response, shipping_notice

Builder = Callable[[Extracted, str], Built]

BUILDERS: dict[str, Builder] = {
    "ORDER": order.build,
    "ORDER_RESPONSE": order_response.build,
    "SHIPPING_NOTICE": shipping_notice.build,
    "INVOICE": invoice.build_invoice,
    "CREDIT_NOTE": invoice.build_credit_note,
}

__all__ = ["BUILDERS", "Built", "Extracted"]
