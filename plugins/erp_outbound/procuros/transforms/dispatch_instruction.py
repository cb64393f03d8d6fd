"""DISPATCH_INSTRUCTION: a supplier tells its fulfilment provider what to ship to whom, and
DISPATCH_INSTRUCTION_RESPONSE: the fulfilment provider reports what it shipped."""

from __future__ import annotations

from erp_outbound.core import jsontext as J
from erp_outbound.core.batch import Built, Extracted
from erp_outbound.core.build import Problems
from erp_outbound.procuros.transforms import common as C

UNIT_TYPES = ("EURO_PALLET", "EURO_PALLET_HALF", "EURO_PALLET_QUARTER", "CARTON")
OPEN_QUANTITY_ACTIONS = ("DISCARDED", "DELIVERED_LATER")


def _quantities(lines, problems: Problems, shipped_column: str):
    ordered = C.quantity_values(lines, "ordered_quantity", "orderedQuantity", problems, required=True)
    shipped = C.quantity_values(lines, shipped_column, "shippedQuantity", problems, required=True)
    problems.add_lines(lines, shipped > ordered, "shippedQuantity",
                       lambda: "shipped quantity " + C.shown(lines[shipped_column]) + f" ({shipped_column}) is more than the "
                       "ordered " + C.shown(lines["ordered_quantity"]) + " (ordered_quantity)")
    return J.number(ordered, 3), J.number(shipped, 3), shipped


def build_instruction(data: Extracted, tz: str) -> Built:
    h, lines, problems = data.headers, data.lines, Problems()
    parties = C.party_texts(data.parties)
    li = lines.index
    ordered, shipped, shipped_values = _quantities(lines, problems, "quantity_to_ship")
    items = J.nest(J.obj({
        "shippingNoticeLineNumber": J.integer(lines["line_number"]),
        "orderLineNumber": J.integer(lines["order_line_number"]),
        "identifiers": C.item_identifiers(lines, problems),
        "description": J.string(lines["description"]),
        "orderedQuantity": ordered,
        "shippedQuantity": shipped,
        "unitOfMeasure": C.unit_of_measure(lines, problems),
        "unitPrice": C.optional_number(lines, "unit_price", "unitPrice", problems),
        # required: the batches to ship, or none when the warehouse may pick any
        "batches": C.batches(lines, shipped_values, tz, problems, expiry_column=None).fillna("[]"),
    }, li), lines["document_id"], h.index)
    C.require_items(h, items, problems)
    header = J.obj({
        "shipmentIdentifier": C.required_text(h, "shipment_number", "shipmentIdentifier", problems),
        "noticeDate": C.optional_datetime(h, "instruction_date", "noticeDate", tz, problems),
        "orderIdentifier": J.string(h["order_number"]),
        "orderDate": C.optional_datetime(h, "order_date", "orderDate", tz, problems),
        "requestedDeliveryDate": C.optional_datetime(h, "requested_delivery_date", "requestedDeliveryDate", tz,
                                                     problems),
        "requestedDespatchDate": C.optional_datetime(h, "requested_despatch_date", "requestedDespatchDate", tz,
                                                     problems),
        "shipFrom": C.party_role(h, parties, "ship_from_id", "shipFrom", problems),
        "shipTo": C.party_role(h, parties, "ship_to_id", "shipTo", problems, required=False),
        "customer": C.party_role(h, parties, "customer_id", "customer", problems),
        "supplier": C.party_role(h, parties, "supplier_id", "supplier", problems),
        "shippingMethod": J.string(h["shipping_method"]),
        "deliveryNotes": J.string(h["delivery_notes"]),
        "currency": C.currency(h, problems),
        "version": J.integer(h["version"]),
    }, h.index)
    content = J.obj({"header": header, "items": items}, h.index)
    return C.finish("DISPATCH_INSTRUCTION", h, "shipment_number", content, problems)


def build_response(data: Extracted, tz: str) -> Built:
    h, lines, problems = data.headers, data.lines, Problems()
    parties = C.party_texts(data.parties)
    li = lines.index
    ordered, shipped, shipped_values = _quantities(lines, problems, "shipped_quantity")
    items = J.nest(J.obj({
        "lineNumber": J.integer(lines["line_number"]),
        "instructionLineNumber": J.integer(lines["instruction_line_number"]),
        "identifiers": C.item_identifiers(lines, problems),
        "description": J.string(lines["description"]),
        "orderedQuantity": ordered,
        "shippedQuantity": shipped,
        "openQuantityAction": C.code(lines, "open_quantity_action", "openQuantityAction", OPEN_QUANTITY_ACTIONS,
                                     problems, lines=True),
        "unitOfMeasure": C.unit_of_measure(lines, problems),
        "batches": C.batches(lines, shipped_values, tz, problems),
    }, li), lines["document_id"], h.index)
    C.require_items(h, items, problems)
    carrier = J.optional_obj({"name": J.string(h["carrier"]), "trackingNumber": J.string(h["tracking_number"])},
                             h.index)
    transport_unit = J.obj({
        "unitIdentifier": J.string(h["package_id"]),
        "unitType": C.code(h, "unit_type", "unitType", UNIT_TYPES, problems),
        "despatchDate": C.optional_datetime(h, "despatch_date", "despatchDate", tz, problems),
        "carrier": carrier,
        "items": items,
    }, h.index)
    header = J.obj({
        "shippingNoticeIdentifier": C.required_text(h, "shipment_number", "shippingNoticeIdentifier", problems),
        "dispatchInstructionResponseDate": C.required_datetime(h, "response_date", "dispatchInstructionResponseDate",
                                                               tz, problems),
        "orderIdentifier": J.string(h["order_number"]),
        "orderDate": C.optional_datetime(h, "order_date", "orderDate", tz, problems),
        "expectedDeliveryDate": C.optional_datetime(h, "expected_delivery_date", "expectedDeliveryDate", tz, problems),
        "carrier": J.string(h["carrier"]),
        "trackingNumber": J.string(h["tracking_number"]),
        "supplier": C.party_role(h, parties, "supplier_id", "supplier", problems),
        "shipFrom": C.party_role(h, parties, "ship_from_id", "shipFrom", problems),
        "shipTo": C.party_role(h, parties, "ship_to_id", "shipTo", problems, required=False),
        "version": J.integer(h["version"]),
    }, h.index)
    content = J.obj({"header": header, "transportUnits": "[" + transport_unit + "]"}, h.index)
    return C.finish("DISPATCH_INSTRUCTION_RESPONSE", h, "shipment_number", content, problems)
