"""Procuros' answers to POST /v2/transactions, turned into verdicts (seed 001's rules)."""

from __future__ import annotations

from erp_outbound.core.http import Answer, TransientError, raise_for_transient
from erp_outbound.core.verdict import Outcome, SendOutcome, Verdict
from erp_outbound.procuros.lookups import ask

TRANSMITTED = "TRANSMITTED"
NO_ACTION = "NO_ACTION"
ALREADY_RECEIVED = "Payload already received"


def transaction_outcome(doc: dict, answer: Answer, check_access) -> SendOutcome:
    """What Procuros' answer decides for one document: its final verdict, or (after "Payload already
    received") ask Procuros after the sends. Raises TransientError or ConnectionConfigError."""
    raise_for_transient(answer)
    check_access(answer)
    body = answer.body if isinstance(answer.body, dict) else None
    if answer.status == 400 and body and str(body.get("message", "")).strip().rstrip(".") == ALREADY_RECEIVED:
        # An earlier send was taken and its answer lost: the document is there, but taken with 201
        # (TRANSMITTED) or 202 (NO_ACTION)? Procuros is asked before anything is recorded (lookups.py).
        return SendOutcome.ask_after(ask(doc, True, ALREADY_RECEIVED, answer.status))
    return SendOutcome.final(transaction_verdict(doc, answer, body))


def transaction_verdict(doc: dict, answer: Answer, body: dict | None) -> Verdict:
    """The final verdict of an answer that is neither transient, nor a refused connection, nor "already received"."""

    def verdict(outcome: Outcome, **fields) -> Verdict:
        return Verdict(vendor="procuros", doc_type=doc["doc_type"], document_id=doc["document_id"],
                       identifier=doc["identifier"], outcome=outcome, http_status=answer.status,
                       attempts_before=doc.get("attempts", 0), **fields)

    if answer.status == 201 and body and body.get("procurosTransactionId"):
        return verdict(Outcome.DELIVERED, status=TRANSMITTED, vendor_reference=str(body["procurosTransactionId"]))
    if answer.status == 202 and body and body.get("message"):
        return verdict(Outcome.NO_ACTION, status=NO_ACTION, message=str(body["message"]),
                       vendor_reference=_text(body.get("procurosTransactionId")))
    if 400 <= answer.status < 500 and body and body.get("message"):
        errors = body.get("errors") if isinstance(body.get("errors"), dict) else {}
        return verdict(Outcome.REJECTED, message=str(body["message"]), error_url=_text(body.get("errorUrl")),
                       errors={str(k): [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in errors.items()})
    # Anything else (no body, HTML, an unexpected status) decides nothing: try again later.
    raise TransientError(f"unreadable answer: HTTP {answer.status} {answer.text[:80]!r}", status=answer.status)


def _text(value) -> str | None:
    return None if value in (None, "") else str(value)


def mark_verdict(task: dict, answer: Answer, check_access) -> Verdict:
    """The verdict of PUT /v2/tasks/{id}: marked, refused (e.g. unknown task), or transient."""
    raise_for_transient(answer)
    body = answer.body if isinstance(answer.body, dict) else None

    def verdict(outcome: Outcome, **fields) -> Verdict:
        return Verdict(vendor="procuros", doc_type=task["task_type"], document_id=task["task_id"],
                       identifier=task["task_id"], outcome=outcome, http_status=answer.status, **fields)

    if 200 <= answer.status < 300:
        return verdict(Outcome.DELIVERED, status="PROCESSED", message=body.get("message") if body else None)
    if answer.status == 404 and body and body.get("message"):
        return verdict(Outcome.REJECTED, message=f"Procuros does not know this task: {body['message']}")
    check_access(answer)
    if 400 <= answer.status < 500 and body and body.get("message"):
        return verdict(Outcome.REJECTED, message=str(body["message"]))
    raise TransientError(f"unreadable answer: HTTP {answer.status} {answer.text[:80]!r}", status=answer.status)
