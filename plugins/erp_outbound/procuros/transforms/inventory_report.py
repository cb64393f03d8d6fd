"""INVENTORY_REPORT: the stock (EDI INVRPT) a warehouse holds for the owner of the goods."""

from __future__ import annotations

from erp_outbound.core import jsontext as J
from erp_outbound.core.batch import Built, Extracted
from erp_outbound.core.build import Problems
from erp_outbound.procuros.transforms import common as C


def build(data: Extracted, tz: str) -> Built:
    h, lines, problems = data.headers, data.lines, Problems()
    parties = C.party_texts(data.parties)
    li = lines.index
    available = C.quantity_values(lines, "available_quantity", "availableQuantity", problems, required=True)
    blocked = C.quantity_values(lines, "blocked_quantity", "blockedQuantity", problems)
    items = J.nest(J.obj({
        "lineNumber": J.integer(lines["line_number"]),
        "name": J.string(lines["description"]),
        "identity": C.product_identity(lines, problems),
        "availableQuantity": J.number(available, 3),
        "blockedQuantity": J.number(blocked, 3),
        "orderedQuantity": J.number(C.quantity_values(lines, "ordered_quantity", "orderedQuantity", problems), 3),
        "unitOfMeasure": C.unit_of_measure(lines, problems),
        "batches": C.batches(lines, available + blocked.fillna(0), tz, problems),
    }, li), lines["document_id"], h.index)
    C.require_items(h, items, problems)
    header = J.obj({
        "inventoryReportIdentifier": C.required_text(h, "report_number", "inventoryReportIdentifier", problems),
        "inventoryReportDate": C.required_datetime(h, "report_date", "inventoryReportDate", tz, problems),
        "warehouse": C.party_role(h, parties, "warehouse_id", "warehouse", problems),
        "goodsOwner": C.party_role(h, parties, "goods_owner_id", "goodsOwner", problems),
        "comments": J.string(h["comments"]),
        "version": J.integer(h["version"]),
    }, h.index)
    content = J.obj({"header": header, "items": items}, h.index)
    return C.finish("INVENTORY_REPORT", h, "report_number", content, problems)
