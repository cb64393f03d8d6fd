"""RamBase answers turned into verdicts: PUT of an order, and API operation instances."""

from __future__ import annotations

import json
from typing import Any

from erp_outbound.core.http import Answer, ConnectionConfigError, TransientError, raise_for_transient
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.rambase.error_body import lower_keys, parse_error
from erp_outbound.rambase.refusals import DATABASE, DUTY, TOKEN, refusal

SYNCED = "SYNCED"
FORWARDED = "FORWARDED"
UNCERTAIN = "UNCERTAIN"  # journal status of a lost forwarding answer before Outcome.UNCERTAIN existed

STARTED, ERROR, FINISHED = 2, 7, 9


def rambase_verdict(doc: dict, outcome: Outcome, **fields) -> Verdict:
    return Verdict(vendor="rambase", doc_type=doc["doc_type"], document_id=doc["document_id"],
                   identifier=doc["identifier"], outcome=outcome, attempts_before=doc.get("attempts", 0), **fields)


def uncertain_check(doc: dict, what_happened: str, dag_id: str) -> str:
    """What a person checks in RamBase about a forwarding request that may have run, and how to release it."""
    try:
        invoice = json.loads(doc.get("body") or "{}").get("parameters", {}).get("supplierInvoiceId")
    except (ValueError, AttributeError):
        invoice = None
    on_invoice = f"supplier invoice {invoice}" if invoice else "the supplier invoice"
    return (f"{what_happened}: RamBase may have run it. Check in RamBase whether the items of order response "
            f"{doc['identifier']} are on {on_invoice} (API operation 100860, its operation instances), then "
            f"release it: `erp-outbound release --vendor rambase --dag {dag_id} {doc['document_id']} --as delivered` "
            "if they are, `--as pending` to send it again.")


def describe_answer(answer: Answer) -> str:
    """What RamBase answered, in words: its error when the body is one (a 500 often carries a proper error),
    otherwise what kind of body arrived (a proxy's HTML page, nothing, something unreadable)."""
    error = parse_error(answer.body)
    if error is not None:
        return f"HTTP {answer.status}: {error.text()}"
    text = (answer.text or "").strip()
    if not text:
        return f"HTTP {answer.status} with an empty body"
    if "<html" in text[:500].lower():
        return f"HTTP {answer.status} with an HTML page (e.g. from a proxy) instead of RamBase's answer"
    return f"HTTP {answer.status} with an unreadable body {text[:80]!r}"


def rejected(doc: dict, answer: Answer, call: str = "", connection: str = "") -> Verdict:
    """400/403/404: RamBase refused this document. Anything unreadable decides nothing.

    A refused ``$db`` (or token) is the connection's fault, the same for every document: it stops
    the run and marks nothing. A missing duty is named with the call it blocks.
    """
    why = refusal(answer)
    if why is not None and why.cause in (DATABASE, TOKEN):
        named = f"RamBase connection {connection!r}: " if connection else ""
        raise ConnectionConfigError(named + why.text(call or "the API"))
    error = why.error if why else None
    if error is None:
        raise TransientError(f"no RamBase error in the answer: {describe_answer(answer)}", status=answer.status)
    message = why.text(call or "this call") if why.cause == DUTY else error.text()
    return rambase_verdict(doc, Outcome.REJECTED, message=message, error_code=error.error_id, http_status=answer.status)


def order_update_verdict(doc: dict, answer: Answer, connection: str = "") -> Verdict:
    raise_for_transient(answer)
    if answer.status == 200 and isinstance(answer.body, dict):
        # RamBase answers the updated order; a 200 without it is a broken answer, not a success.
        return rambase_verdict(doc, Outcome.DELIVERED, status=SYNCED, http_status=200)
    if 400 <= answer.status < 500:
        return rejected(doc, answer, f"PUT procurement/orders/{doc['identifier']}", connection)
    raise TransientError(f"unexpected answer: HTTP {answer.status}", status=answer.status)


def operation_instance(body: Any) -> dict | None:
    """The OperationInstance of an answer (wrapped or bare, camel or Pascal case)."""
    body = lower_keys(body) if isinstance(body, dict) else None
    if body and isinstance(body.get("operationInstance"), dict):
        body = body["operationInstance"]
    if not body or "status" not in body or "operationInstanceId" not in body:
        return None
    return body


def operation_outcome(instance: dict) -> dict:
    """What a verdict needs of a finished operation instance: its id, status and error, nothing else.

    The trigger hands this back in its event, which the triggerer logs whole at INFO: the full
    instance (links, system job, parameters) is a vendor answer and does not belong there.
    """
    error = parse_error(instance.get("error") or {})
    return {"operationInstanceId": instance["operationInstanceId"], "status": instance["status"],
            "error": error.as_body() if error else None}


def progress(instance: dict) -> int | None:
    """Percent complete of the system job: PercentageComplete (RamBase SDK) or percentComplete (seed)."""
    job = instance.get("systemJob") or {}
    for key in ("percentageComplete", "percentComplete"):
        if job.get(key) is not None:
            return int(job[key])
    return None


def operation_verdict(doc: dict, instance: dict) -> Verdict | None:
    """9 finished -> forwarded; 7 error -> rejected with the error; 2 started -> None (still running)."""
    status = int(instance["status"])
    reference = str(instance["operationInstanceId"])
    if status == FINISHED:
        return rambase_verdict(doc, Outcome.DELIVERED, status=FORWARDED, vendor_reference=reference)
    if status == ERROR:
        error = parse_error(instance.get("error") or {})
        return rambase_verdict(doc, Outcome.REJECTED, vendor_reference=reference,
                        message=error.text() if error else f"operation {reference} ended in error",
                        error_code=error.error_id if error else None)
    if status == STARTED:
        return None
    raise TransientError(f"operation {reference} has an unknown status {status}")
