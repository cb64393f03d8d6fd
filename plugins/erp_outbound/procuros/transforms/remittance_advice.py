"""REMITTANCE_ADVICE: the payment advice (EDI REMADV) a payer sends to the payee: which
invoices and credit notes a payment settles, and what it deducted (e.g. cash discount)."""

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
    due = C.money(J.numeric(lines["due_amount"]))
    remitted = C.money(J.numeric(lines["remitted_amount"]))
    deducted = C.money(J.numeric(lines["deduction_amount"]).fillna(0))
    off = (due - deducted - remitted).round(2)
    def amount(values: pd.Series) -> pd.Series:
        return values.map("{:.2f}".format, na_action="ignore").astype("string")

    problems.add_lines(lines, off.abs() >= 0.01, "remittedTotal",
                       "remitted " + amount(remitted) + " is not the due " + amount(due) + " less the deduction "
                       + amount(deducted) + " (remitted_amount, due_amount, deduction_amount)")
    correction = J.obj({
        "basis": J.number(due, 2),
        "reason": J.string(lines["deduction_reason"]),
        "amount": J.number(deducted, 2),
        "total": J.number(deducted, 2),
    }, li)
    items = J.nest(J.obj({
        "documentNumber": C.required_line_text(lines, "document_number", "documentNumber", problems),
        "documentDate": C.line_datetime(lines, "document_date", "documentDate", tz, problems),
        "documentType": J.string(lines["document_type"]),
        "dueTotal": C.required_number(lines, "due_amount", "dueTotal", problems),
        "remittedTotal": C.required_number(lines, "remitted_amount", "remittedTotal", problems),
        "correctionTotal": J.number(deducted.where(deducted != 0), 2),
        "corrections": ("[" + correction + "]").where(deducted != 0),
    }, li), lines["document_id"], h.index)
    C.require_items(h, items, problems)
    amounts = pd.DataFrame({"document_id": lines["document_id"], "due": due, "remitted": remitted,
                            "deducted": deducted}).groupby("document_id").sum().reindex(h.index)
    summary = J.obj({
        "dueTotal": J.number(amounts["due"], 2),
        "remittedTotal": J.number(amounts["remitted"], 2),
        "correctionTotal": J.number(amounts["deducted"], 2),
    }, h.index)
    header = J.obj({
        "adviceNumber": C.required_text(h, "advice_number", "adviceNumber", problems),
        "adviceDate": C.required_datetime(h, "advice_date", "adviceDate", tz, problems),
        "remittanceDate": C.optional_datetime(h, "remittance_date", "remittanceDate", tz, problems),
        "paymentMethod": J.string(h["payment_method"]),
        "paymentReference": J.string(h["payment_reference"]),
        "currency": C.currency(h, problems),
        "payFrom": C.party_role(h, parties, "payer_id", "payFrom", problems),
        "payTo": C.party_role(h, parties, "payee_id", "payTo", problems),
        "buyer": C.party_role(h, parties, "buyer_id", "buyer", problems, required=False),
        "supplier": C.party_role(h, parties, "supplier_id", "supplier", problems, required=False),
        "version": J.integer(h["version"]),
    }, h.index)
    content = J.obj({"header": header, "items": items, "summary": summary}, h.index)
    return C.finish("REMITTANCE_ADVICE", h, "advice_number", content, problems)
