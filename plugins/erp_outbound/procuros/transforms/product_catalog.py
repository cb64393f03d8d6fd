"""PRODUCT_CATALOG: a supplier's articles and prices (EDI PRICAT) for one customer.

The spec gives a catalog no required number. A catalog is one ERP row for one receiver;
erp-outbound names it by its ``catalogNumber`` when the ERP has one, else by
``catalog <ERP id> for <receiver id>`` (see include/sql/README.md). One catalog number may
go to several receivers, so it is not checked for repeats as order numbers are.
"""

from __future__ import annotations

import pandas as pd

from erp_outbound.core import jsontext as J
from erp_outbound.core.batch import Built, Extracted, id_text
from erp_outbound.core.build import Problems
from erp_outbound.procuros.transforms import common as C

ACTIONS = ("NEW", "CHANGED", "DELETED")


def build(data: Extracted, tz: str) -> Built:
    h, lines, problems = data.headers, data.lines, Problems()
    parties = C.party_texts(data.parties)
    li = lines.index
    action = C.code(lines, "action", "action", ACTIONS, problems, lines=True)
    deleted = lines["action"].astype(J.TEXT).str.strip().str.upper() == "DELETED"
    price = J.numeric(lines["unit_price"])
    problems.add_lines(lines, price.isna() & ~deleted.fillna(False), "unitPrice",
                       lambda: "unit price (unit_price) is missing or not a number: " + C.shown(lines["unit_price"]))
    valid_from, valid_until = (pd.to_datetime(lines[c], errors="coerce", format="mixed")
                               for c in ("price_valid_from", "price_valid_until"))
    problems.add_lines(lines, valid_until < valid_from, "unitPriceValidUntilDate",
                       lambda: "the price is valid until " + C.shown(lines["price_valid_until"]) + ", before it is valid from "
                       + C.shown(lines["price_valid_from"]) + " (price_valid_until, price_valid_from)")
    items = J.nest(J.obj({
        "lineNumber": J.integer(lines["line_number"]),
        "name": J.string(lines["description"]),
        "identity": C.product_identity(lines, problems, receiver_column="customer_article_number"),
        "action": action,
        "quantity": C.required_quantity(lines, "quantity", "quantity", problems),
        "unitOfMeasure": C.unit_of_measure(lines, problems),
        "isOrderable": J.boolean(lines["is_orderable"]),
        "currency": C.header_values(C.currency(h, problems), lines),
        "unitPrice": J.number(price, 4),
        "unitPriceValidFromDate": C.line_datetime(lines, "price_valid_from", "unitPriceValidFromDate", tz, problems),
        "unitPriceValidUntilDate": C.line_datetime(lines, "price_valid_until", "unitPriceValidUntilDate", tz, problems),
        "recommendedRetailPrice": C.optional_number(lines, "recommended_retail_price", "recommendedRetailPrice",
                                                    problems, 2),
        "minimumOrderQuantity": J.number(C.quantity_values(lines, "minimum_order_quantity", "minimumOrderQuantity",
                                                           problems), 3),
        "taxPercentage": C.optional_number(lines, "tax_rate", "taxPercentage", problems, 2),
    }, li), lines["document_id"], h.index)
    C.require_items(h, items, problems)
    number = h["catalog_number"].astype(J.TEXT).str.strip().mask(lambda s: s == "")
    h = h.assign(catalog_name=number.fillna("catalog " + h.index.to_series() + " for "
                                            + C.shown(id_text(h["receiver_id"]))))
    header = J.obj({
        "catalogNumber": J.string(number),
        "catalogDate": C.required_datetime(h, "catalog_date", "catalogDate", tz, problems),
        "sender": C.party_role(h, parties, "sender_id", "sender", problems),
        "receiver": C.party_role(h, parties, "receiver_id", "receiver", problems),
        "comments": J.string(h["comments"]),
        "version": J.integer(h["version"]),
    }, h.index)
    content = J.obj({"header": header, "items": items}, h.index)
    return C.finish("PRODUCT_CATALOG", h, "catalog_name", content, problems)
