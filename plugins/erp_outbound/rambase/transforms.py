"""pandas builders of RamBase payloads, with the constraints seed 002 and 003 document.

A payload carries only the fields the ERP has values for: PUT updates what it is sent.
"""

from __future__ import annotations

import pandas as pd

from erp_outbound.core import jsontext as J
from erp_outbound.core.batch import Built, Extracted
from erp_outbound.core.build import Problems, built, shown
from erp_outbound.rambase.codes import CURRENCIES, INCOTERMS_2020


def _whole_number(frame: pd.DataFrame, column: str, name: str, minimum: int, problems: Problems,
                  required: bool = False) -> pd.Series:
    """An integer field with RamBase's minimum value; JSON text, missing where empty."""
    raw = frame[column] if column in frame else pd.Series(pd.NA, index=frame.index)
    values = J.numeric(raw)
    given = raw.notna() & (raw.astype("string").str.strip() != "")
    problems.add(given & (values.isna() | (values % 1 != 0) | (values.abs() > J.EXACT_INTEGER)), name,
                 lambda: f"{name} is not a whole number: " + shown(raw))
    problems.add(values.notna() & (values < minimum), name,
                 lambda: f"{name} must be at least {minimum}, the ERP has " + shown(raw) + f" ({column})")
    if required:
        problems.add(~given, name, f"{name} is empty ({column})")
    return J.integer(values)


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    return J.string(frame[column]) if column in frame else pd.Series(pd.NA, index=frame.index, dtype=J.TEXT)


def _code(frame: pd.DataFrame, column: str, name: str, allowed: frozenset[str], what: str,
          problems: Problems) -> pd.Series:
    values = frame[column].astype(J.TEXT).str.strip().mask(lambda s: s == "") if column in frame else \
        pd.Series(pd.NA, index=frame.index, dtype=J.TEXT)
    problems.add(values.notna() & ~values.isin(allowed), name, lambda: f"{name} " + shown(values) + f" is not {what}")
    return J.string(values)


def build_purchase_order_update(data: Extracted, tz: str) -> Built:
    """{"purchaseOrder": {...}} for PUT procurement/orders/{purchaseOrderId}."""
    h, problems = data.headers, Problems()
    idx = h.index
    _whole_number(h, "purchase_order_id", "purchaseOrderId", 100000, problems, required=True)
    order = J.obj({
        "suppliersReference": _text(h, "suppliers_reference"),
        "suppliersReferenceNumber": _text(h, "suppliers_reference_number"),
        "currency": _code(h, "currency", "currency", CURRENCIES, "an ISO 4217 currency code", problems),
        "note": _text(h, "note"),
        "shipToAttention": _text(h, "ship_to_attention"),
        "location": J.optional_obj(
            {"locationId": _whole_number(h, "location_id", "location.locationId", 10000, problems)}, idx),
        "assignee": J.optional_obj(
            {"userId": _whole_number(h, "assignee_user_id", "assignee.userId", 100, problems)}, idx),
        "supplier": J.optional_obj(
            {"supplierId": _whole_number(h, "supplier_id", "supplier.supplierId", 100, problems)}, idx),
        "shipFrom": J.optional_obj(
            {"addressId": _whole_number(h, "ship_from_address_id", "shipFrom.addressId", 1, problems)}, idx),
        "shipment": J.optional_obj({
            "deliveryTerms": _code(h, "delivery_terms", "shipment.deliveryTerms", INCOTERMS_2020,
                                   "an Incoterms 2020 code", problems),
            "deliveryTermPlace": _text(h, "delivery_term_place"),
            "shippingService": J.optional_obj({"shippingServiceId": _whole_number(
                h, "shipping_service_id", "shipment.shippingService.shippingServiceId", 100000, problems)}, idx),
        }, idx),
        "payment": J.optional_obj({"paymentTerms": _text(h, "payment_terms")}, idx),
    }, idx)
    body = J.obj({"purchaseOrder": order}, idx)
    return built(h.assign(purchase_order_id=_ids(h["purchase_order_id"])), "purchase_order_id", body, problems)


def build_invoice_forwarding(data: Extracted, tz: str) -> Built:
    """{"parameters": {"supplierInvoiceId": N}} for API operation 100860 of an order response."""
    h, problems = data.headers, Problems()
    _whole_number(h, "purchase_order_response_id", "purchaseOrderResponseId", 100000, problems, required=True)
    invoice = _whole_number(h, "supplier_invoice_id", "supplierInvoiceId", 100000, problems, required=True)
    body = J.obj({"parameters": J.obj({"supplierInvoiceId": invoice}, h.index)}, h.index)
    h = h.assign(purchase_order_response_id=_ids(h["purchase_order_response_id"]),
                 operation_instance_id=_ids(h.get("operation_instance_id", pd.Series(pd.NA, index=h.index))))
    return built(h, "purchase_order_response_id", body, problems, keep=("operation_instance_id",))


def _ids(values: pd.Series) -> pd.Series:
    """Ids as text without a trailing .0 (integer columns with NULLs arrive as floats)."""
    numbers = J.numeric(values)
    whole = numbers.notna() & (numbers % 1 == 0) & (numbers.abs() <= J.EXACT_INTEGER)
    text = values.astype("string")
    return text.mask(whole, numbers.where(whole).astype("Int64").astype("string"))
