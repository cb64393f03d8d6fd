"""INVOICE and CREDIT_NOTE: billing documents with taxed lines and a summary."""

from __future__ import annotations

import pandas as pd

from erp_outbound.core import jsontext as J
from erp_outbound.core.batch import Built, Extracted
from erp_outbound.core.build import Problems
from erp_outbound.procuros.transforms import common as C


def _billed_items(data: Extracted, problems: Problems) -> tuple[pd.Series, pd.DataFrame, pd.Series]:
    """Item JSON per document, amounts per document (net, tax, gross) and the tax breakdown."""
    lines = data.lines
    li = lines.index
    quantity = J.numeric(lines["quantity"])
    price = J.numeric(lines["unit_price"])
    rate = J.numeric(lines["tax_rate"])
    problems.add_lines(lines, price.isna(), "unitPrice", lambda: "unit price (unit_price) is missing or not a number: " + C.shown(lines["unit_price"]))
    problems.add_lines(lines, rate.isna(), "tax.percentage", lambda: "tax rate (tax_rate) is missing or not a number: " + C.shown(lines["tax_rate"]))
    net = C.money(quantity * price)
    tax = C.money(net * rate / 100)
    items = J.nest(J.obj({
        "lineNumber": J.integer(lines["line_number"]),
        "identifiers": C.item_identifiers(lines, problems),
        "isDepositItem": J.constant(False, li),
        "isInvoicedItem": J.constant(True, li),
        "description": J.string(lines["description"]),
        "quantity": C.required_quantity(lines, "quantity", "quantity", problems),
        "unitOfMeasure": C.unit_of_measure(lines, problems),
        "unitPrice": J.number(price, 4),
        "tax": J.obj({"amount": J.number(tax, 2), "percentage": J.number(rate, 2)}, li),
    }, li), lines["document_id"], data.headers.index)
    C.require_items(data.headers, items, problems)
    money = pd.DataFrame({"document_id": lines["document_id"], "rate": rate, "net": net, "tax": tax})
    amounts = money.groupby("document_id")[["net", "tax"]].sum().reindex(data.headers.index)
    amounts["gross"] = C.money(amounts["net"] + amounts["tax"])
    per_rate = money.groupby(["document_id", "rate"], as_index=False)[["net", "tax"]].sum()
    breakdown = J.nest(J.obj({
        "percentage": J.number(per_rate["rate"], 2),
        "taxableAmount": J.number(per_rate["net"], 2),
        "taxAmount": J.number(per_rate["tax"], 2),
        "category": J.constant("sales", per_rate.index),
    }, per_rate.index), per_rate["document_id"], data.headers.index)
    return items, amounts, breakdown


def _summary(amounts: pd.DataFrame, breakdown: pd.Series, index: pd.Index) -> pd.Series:
    return J.obj({
        "subtotalAmount": J.number(amounts["net"], 2),
        "netAmount": J.number(amounts["net"], 2),
        "grossAmount": J.number(amounts["gross"], 2),
        "dueAmount": J.number(amounts["gross"], 2),
        "totalCharges": J.constant(0, index),
        "totalAllowances": J.constant(0, index),
        "tax": J.obj({"total": J.number(amounts["tax"], 2), "items": breakdown}, index),
    }, index)


def build_invoice(data: Extracted, tz: str) -> Built:
    h, problems = data.headers, Problems()
    parties = C.party_texts(data.parties)
    items, amounts, breakdown = _billed_items(data, problems)
    payment_days = J.numeric(h["payment_days"])
    payment_terms = J.obj({"payInNumberOfDays": J.integer(payment_days), "percentage": J.constant(0, h.index)}, h.index)
    header = J.obj({
        "buyer": C.party_role(h, parties, "buyer_id", "buyer", problems),
        "supplier": C.party_role(h, parties, "supplier_id", "supplier", problems),
        "invoiceIdentifier": C.required_text(h, "invoice_number", "invoiceIdentifier", problems),
        "invoiceDate": C.required_datetime(h, "invoice_date", "invoiceDate", tz, problems),
        "invoiceDueDate": C.optional_datetime(h, "due_date", "invoiceDueDate", tz, problems),
        "shippingNoticeIdentifier": C.required_text(h, "notice_number", "shippingNoticeIdentifier", problems),
        "shippingNoticeDate": C.required_datetime(h, "notice_date", "shippingNoticeDate", tz, problems),
        "orderIdentifier": C.required_text(h, "order_number", "orderIdentifier", problems),
        "orderDate": C.required_datetime(h, "order_date", "orderDate", tz, problems),
        "paymentTerms": ("[" + payment_terms + "]").where(payment_days.notna()),
        "currency": C.currency(h, problems),
        "version": J.integer(h["version"]),
    }, h.index)
    summary = _summary(amounts, breakdown, h.index)
    content = J.obj({"header": header, "items": items, "summary": summary}, h.index)
    return C.finish("INVOICE", h, "invoice_number", content, problems)


def build_credit_note(data: Extracted, tz: str) -> Built:
    h, problems = data.headers, Problems()
    parties = C.party_texts(data.parties)
    items, amounts, breakdown = _billed_items(data, problems)
    header = J.obj({
        "buyer": C.party_role(h, parties, "buyer_id", "buyer", problems),
        "supplier": C.party_role(h, parties, "supplier_id", "supplier", problems),
        "creditNoteIdentifier": C.required_text(h, "credit_note_number", "creditNoteIdentifier", problems),
        "creditNoteDate": C.required_datetime(h, "credit_note_date", "creditNoteDate", tz, problems),
        "invoiceIdentifier": J.string(h["invoice_number"]),
        "invoiceDate": C.optional_datetime(h, "invoice_date", "invoiceDate", tz, problems),
        "reason": J.string(h["reason"]),
        "currency": C.currency(h, problems),
        "version": J.integer(h["version"]),
    }, h.index)
    content = J.obj({"header": header, "items": items, "summary": _summary(amounts, breakdown, h.index)}, h.index)
    return C.finish("CREDIT_NOTE", h, "credit_note_number", content, problems)
