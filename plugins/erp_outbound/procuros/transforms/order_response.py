"""ORDER_RESPONSE: our confirmation (accept, change, reject) of a customer's order."""

from __future__ import annotations

from erp_outbound.core import jsontext as J
from erp_outbound.core.batch import Built, Extracted
from erp_outbound.core.build import Problems
from erp_outbound.procuros.transforms import common as C

RESPONSE_TYPES = ("ACCEPT", "REJECT", "CHANGE")


def build(data: Extracted, tz: str) -> Built:
    h, lines, problems = data.headers, data.lines, Problems()
    parties = C.party_texts(data.parties)
    li = lines.index
    items = J.nest(J.obj({
        "lineNumber": J.integer(lines["line_number"]),
        "identifiers": C.item_identifiers(lines, problems),
        "isDepositItem": J.constant(False, li),
        "orderedQuantity": C.required_quantity(lines, "ordered_quantity", "orderedQuantity", problems),
        "confirmedQuantity": C.required_quantity(lines, "confirmed_quantity", "confirmedQuantity", problems),
        "unitOfMeasure": C.unit_of_measure(lines, problems),
        "description": J.string(lines["description"]),
        "unitPrice": C.optional_number(lines, "unit_price", "unitPrice", problems),
    }, li), lines["document_id"], h.index)
    response_type = h["response_type"].astype(J.TEXT).str.strip().str.upper()
    problems.add(response_type.notna() & ~response_type.isin(RESPONSE_TYPES), "type",
                 lambda: "response type " + C.shown(response_type) + " is not ACCEPT, REJECT or CHANGE")
    header = J.obj({
        "type": J.string(response_type),
        "version": J.integer(h["version"]),
        "buyer": C.party_role(h, parties, "buyer_id", "buyer", problems),
        "supplier": C.party_role(h, parties, "supplier_id", "supplier", problems),
        "orderResponseIdentifier": C.required_text(h, "response_number", "orderResponseIdentifier", problems),
        "orderResponseDate": C.required_datetime(h, "response_date", "orderResponseDate", tz, problems),
        "orderIdentifier": C.required_text(h, "order_number", "orderIdentifier", problems),
        "orderDate": C.optional_datetime(h, "order_date", "orderDate", tz, problems),
        "confirmedDeliveryDate": C.optional_datetime(h, "confirmed_delivery_date", "confirmedDeliveryDate", tz, problems),
        "currency": C.currency(h, problems),
    }, h.index)
    content = J.obj({"header": header, "items": items}, h.index)
    return C.finish("ORDER_RESPONSE", h, "response_number", content, problems)
