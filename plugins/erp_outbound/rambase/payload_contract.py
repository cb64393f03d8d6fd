"""RamBase's contract for the bodies we send, from its documentation.

- ``PUT procurement/orders/{purchaseOrderId}`` (seed 002, API resource 3000): every field of
  ``purchaseOrder`` is optional; identifiers are integers with the documented minimum values
  (LocationId 10000, UserId 100, SupplierId 100, AddressId 1, ShippingServiceId 100000);
  Currency is a three-character ISO 4217 code, DeliveryTerms an Incoterms rule (rambase/codes.py).
- ``POST procurement/order-responses/{id}/api-operations/100860/instances`` (seed 003):
  ``parameters.supplierInvoiceId``, an integer of at least 100000, is required.

The documentation states no text lengths, so none are checked; a property it does not name is a
mistake of ours, not a RamBase field.
"""

from __future__ import annotations

from erp_outbound.core.contract import SCHEMA_DIALECT, Contract
from erp_outbound.rambase.codes import CURRENCIES, INCOTERMS_2020
from erp_outbound.rambase.flows import INVOICE_FORWARDING, PURCHASE_ORDER_UPDATE

_TEXT = {"type": "string", "minLength": 1}


def _integer(minimum: int) -> dict:
    return {"type": "integer", "minimum": minimum}


def _closed(properties: dict, required: tuple[str, ...] = ()) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return schema


PURCHASE_ORDER = {
    "$schema": SCHEMA_DIALECT,
    "title": "PUT procurement/orders/{purchaseOrderId} (seed 002)",
    **_closed({"purchaseOrder": _closed({
        "suppliersReference": _TEXT,
        "suppliersReferenceNumber": _TEXT,
        "currency": {"type": "string", "enum": sorted(CURRENCIES)},
        "note": _TEXT,
        "shipToAttention": _TEXT,
        "location": _closed({"locationId": _integer(10000)}),
        "assignee": _closed({"userId": _integer(100)}),
        "supplier": _closed({"supplierId": _integer(100)}),
        "shipFrom": _closed({"addressId": _integer(1)}),
        "shipment": _closed({
            "deliveryTerms": {"type": "string", "enum": sorted(INCOTERMS_2020)},
            "deliveryTermPlace": _TEXT,
            "shippingService": _closed({"shippingServiceId": _integer(100000)}),
        }),
        "payment": _closed({"paymentTerms": _TEXT}),
    })}),
}

INVOICE_FORWARDING_BODY = {
    "$schema": SCHEMA_DIALECT,
    "title": "POST .../api-operations/100860/instances (seed 003)",
    **_closed({"parameters": _closed({"supplierInvoiceId": _integer(100000)}, ("supplierInvoiceId",))},
              ("parameters",)),
}


def contract() -> Contract:
    return Contract("rambase", {PURCHASE_ORDER_UPDATE: PURCHASE_ORDER, INVOICE_FORWARDING: INVOICE_FORWARDING_BODY})
