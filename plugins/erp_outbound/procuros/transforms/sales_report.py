"""SALES_REPORT: a retailer's sell-out (EDI SLSRPT) to its supplier, per selling location."""

from __future__ import annotations

import pandas as pd

from erp_outbound.core import jsontext as J
from erp_outbound.core.batch import Built, Extracted, id_text
from erp_outbound.core.build import Problems
from erp_outbound.procuros.transforms import common as C


def build(data: Extracted, tz: str) -> Built:
    h, lines, problems = data.headers, data.lines, Problems()
    parties = C.party_texts(data.parties)
    li = lines.index
    price = J.numeric(lines["unit_price"])
    rate = J.numeric(lines["tax_rate"])
    net = C.money(J.numeric(lines["sales_quantity"]) * price)
    tax = C.money(net * rate / 100)
    item = J.obj({
        "lineNumber": J.integer(lines["line_number"]),
        "identifiers": C.item_identifiers(lines, problems),
        "description": J.string(lines["description"]),
        "unitOfMeasure": C.unit_of_measure(lines, problems),
        "salesQuantity": C.required_number(lines, "sales_quantity", "salesQuantity", problems, 3),
        "unitPrice": C.optional_number(lines, "unit_price", "unitPrice", problems),
        "lineNetAmount": J.number(net, 2),
        "lineTaxAmount": J.number(tax, 2),
        "lineGrossAmount": J.number(C.money(net + tax), 2),
        "tax": J.obj({"amount": J.number(tax, 2), "percentage": J.number(rate, 2)}, li).where(tax.notna()),
    }, li)
    # A report lists its items per selling location: group the lines by (document, location).
    location_ids = id_text(lines["location_id"])
    key = lines["document_id"] + "|" + location_ids.fillna("")
    groups = pd.DataFrame({"key": key, "document_id": lines["document_id"], "location": location_ids}
                          ).drop_duplicates("key")
    location = C.party_of(pd.Series(groups["location"].to_numpy(), index=groups["document_id"].to_numpy()),
                          parties, "location_id", "location", problems, field="locations.location")
    locations = J.nest(J.obj({
        "location": location,
        "items": J.nest(item, key, pd.Index(groups["key"])),
    }, groups.index), groups["document_id"], h.index)
    problems.add(locations.isna(), "locations", "the document has no lines")
    start, end = (pd.to_datetime(h[c], errors="coerce", format="mixed") for c in ("period_start", "period_end"))
    problems.add(end < start, "salesPeriodEndDate", lambda: "the sales period ends (period_end " + C.shown(h["period_end"])
                 + ") before it starts (period_start " + C.shown(h["period_start"]) + ")")
    header = J.obj({
        "salesReportIdentifier": C.required_text(h, "report_number", "salesReportIdentifier", problems),
        "salesReportDate": C.required_datetime(h, "report_date", "salesReportDate", tz, problems),
        "salesPeriodStartDate": C.required_datetime(h, "period_start", "salesPeriodStartDate", tz, problems),
        "salesPeriodEndDate": C.required_datetime(h, "period_end", "salesPeriodEndDate", tz, problems),
        "currency": C.currency(h, problems),
        "supplier": C.party_role(h, parties, "supplier_id", "supplier", problems),
        "buyer": C.party_role(h, parties, "buyer_id", "buyer", problems),
        "comments": J.string(h["comments"]),
    }, h.index)
    content = J.obj({"header": header, "locations": locations}, h.index)
    return C.finish("SALES_REPORT", h, "report_number", content, problems)
