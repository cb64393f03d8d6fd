"""ORDER: a purchase order to a supplier."""

from __future__ import annotations

from erp_outbound.core import jsontext as J
from erp_outbound.core.batch import Built, Extracted
from erp_outbound.core.build import Problems
from erp_outbound.procuros.transforms import common as C


def build(data: Extracted, tz: str) -> Built:
    h, lines, problems = data.headers, data.lines, Problems()
    parties = C.party_texts(data.parties)
    li = lines.index
    items = J.nest(J.obj({
        "lineNumber": J.integer(lines["line_number"]),
        "identifiers": C.item_identifiers(lines, problems),
        "isDepositItem": J.constant(False, li),
        "quantity": C.required_quantity(lines, "quantity", "quantity", problems),
        "unitOfMeasure": C.unit_of_measure(lines, problems),
        "description": J.string(lines["description"]),
        "unitPrice": C.optional_number(lines, "unit_price", "unitPrice", problems),
    }, li), lines["document_id"], h.index)
    C.require_items(h, items, problems)
    header = J.obj({
        "buyer": C.party_role(h, parties, "buyer_id", "buyer", problems),
        "supplier": C.party_role(h, parties, "supplier_id", "supplier", problems),
        "shipTo": C.party_role(h, parties, "ship_to_id", "shipTo", problems, required=False),
        "orderIdentifier": C.required_text(h, "order_number", "orderIdentifier", problems),
        "orderDate": C.required_datetime(h, "order_date", "orderDate", tz, problems),
        "requestedDeliveryDate": C.optional_datetime(h, "requested_delivery_date", "requestedDeliveryDate", tz, problems),
        "currency": C.currency(h, problems),
        "comments": J.string(h["comments"]),
        "version": J.integer(h["version"]),
    }, h.index)
    content = J.obj({"header": header, "items": items}, h.index)
    return C.finish("ORDER", h, "order_number", content, problems)
