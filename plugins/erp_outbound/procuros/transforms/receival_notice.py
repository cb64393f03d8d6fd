"""RECEIVAL_NOTICE: the goods receipt (EDI RECADV) a buyer reports back to its supplier."""

from __future__ import annotations

from erp_outbound.core import jsontext as J
from erp_outbound.core.batch import Built, Extracted
from erp_outbound.core.build import Problems
from erp_outbound.procuros.transforms import common as C

UNIT_TYPES = ("EURO_PALLET", "EURO_PALLET_HALF", "EURO_PALLET_QUARTER", "CARTON")


def build(data: Extracted, tz: str) -> Built:
    h, lines, problems = data.headers, data.lines, Problems()
    parties = C.party_texts(data.parties)
    li = lines.index
    received = C.quantity_values(lines, "received_quantity", "receivedQuantity", problems, required=True)
    rejected = C.quantity_values(lines, "rejected_quantity", "rejectedQuantity", problems)
    reason = J.string(lines["reject_reason"])
    problems.add_lines(lines, (rejected > 0) & reason.isna(), "rejectReason",
                       lambda: "rejected quantity " + C.shown(lines["rejected_quantity"]) + " has no reason (reject_reason)")
    items = J.nest(J.obj({
        "lineNumber": J.integer(lines["line_number"]),
        "orderLineNumber": J.integer(lines["order_line_number"]),
        "identifiers": C.item_identifiers(lines, problems),
        "description": J.string(lines["description"]),
        "orderedQuantity": C.optional_number(lines, "ordered_quantity", "orderedQuantity", problems, 3),
        "shippedQuantity": C.optional_number(lines, "shipped_quantity", "shippedQuantity", problems, 3),
        "receivedQuantity": J.number(received, 3),
        "rejectedQuantity": J.number(rejected.where(rejected > 0), 3),
        "rejectReason": reason.where(rejected > 0),
        "unitOfMeasure": C.unit_of_measure(lines, problems),
        "batches": C.batches(lines, received, tz, problems),
    }, li), lines["document_id"], h.index)
    C.require_items(h, items, problems)
    transport_unit = J.obj({
        "unitIdentifier": J.string(h["package_id"]),
        "unitType": C.code(h, "unit_type", "unitType", UNIT_TYPES, problems),
        "items": items,
    }, h.index)
    header = J.obj({
        "receivalAdviceNumber": C.required_text(h, "receipt_number", "receivalAdviceNumber", problems),
        "receivalDate": C.required_datetime(h, "receipt_date", "receivalDate", tz, problems),
        "deliveryNoteNumber": J.string(h["delivery_note_number"]),
        "deliveryNoteDate": C.optional_datetime(h, "delivery_note_date", "deliveryNoteDate", tz, problems),
        "customerOrderNumber": J.string(h["order_number"]),
        "orderDate": C.optional_datetime(h, "order_date", "orderDate", tz, problems),
        "customer": C.party_role(h, parties, "customer_id", "customer", problems),
        "supplier": C.party_role(h, parties, "supplier_id", "supplier", problems),
        "shipTo": C.party_role(h, parties, "ship_to_id", "shipTo", problems, required=False),
        "comments": J.string(h["comments"]),
        "version": J.integer(h["version"]),
    }, h.index)
    content = J.obj({"header": header, "transportUnits": "[" + transport_unit + "]"}, h.index)
    return C.finish("RECEIVAL_NOTICE", h, "receipt_number", content, problems)
