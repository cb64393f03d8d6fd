"""SHIPPING_NOTICE: the despatch advice of a delivery, one transport unit per notice."""

from __future__ import annotations

import pandas as pd

from erp_outbound.core import jsontext as J
from erp_outbound.core.batch import Built, Extracted
from erp_outbound.core.build import Problems
from erp_outbound.procuros.transforms import common as C


def build(data: Extracted, tz: str) -> Built:
    h, lines, problems = data.headers, data.lines, Problems()
    parties = C.party_texts(data.parties)
    li = lines.index
    shipped = J.numeric(lines["shipped_quantity"])
    batch = J.optional_obj({
        "batchIdentifier": J.string(lines["batch_number"]),
        "quantity": J.number(shipped, 3),
    }, li).where(lines["batch_number"].notna())
    items = J.nest(J.obj({
        "lineNumber": J.integer(lines["line_number"]),
        "identifiers": C.item_identifiers(lines, problems),
        "isDepositItem": J.constant(False, li),
        "description": J.string(lines["description"]),
        "orderedQuantity": C.required_quantity(lines, "ordered_quantity", "orderedQuantity", problems),
        "shippedQuantity": C.required_quantity(lines, "shipped_quantity", "shippedQuantity", problems),
        "unitOfMeasure": C.unit_of_measure(lines, problems),
        "batches": "[" + batch + "]",
    }, li), lines["document_id"], h.index)
    C.require_items(h, items, problems)
    transport_unit = J.obj({
        "unitIdentifier": J.string(h["package_id"]),
        "unitType": J.constant("PALLET", h.index),
        "items": items,
    }, h.index)
    header = J.obj({
        "buyer": C.party_role(h, parties, "buyer_id", "buyer", problems),
        "supplier": C.party_role(h, parties, "supplier_id", "supplier", problems),
        "shipTo": C.party_role(h, parties, "ship_to_id", "shipTo", problems, required=False),
        "shippingNoticeIdentifier": C.required_text(h, "notice_number", "shippingNoticeIdentifier", problems),
        "shippingNoticeDate": C.required_datetime(h, "notice_date", "shippingNoticeDate", tz, problems),
        "orderIdentifier": C.required_text(h, "order_number", "orderIdentifier", problems),
        "orderDate": C.optional_datetime(h, "order_date", "orderDate", tz, problems),
        "despatchDate": C.optional_datetime(h, "despatch_date", "despatchDate", tz, problems),
        "expectedDeliveryDate": C.optional_datetime(h, "expected_delivery_date", "expectedDeliveryDate", tz, problems),
        "carrier": J.string(h["carrier"]),
        "trackingNumber": J.string(h["tracking_number"]),
        "version": J.integer(h["version"]),
    }, h.index)
    content = J.obj({"header": header, "transportUnits": "[" + transport_unit + "]"}, h.index)
    return C.finish("SHIPPING_NOTICE", h, "notice_number", content, problems)
