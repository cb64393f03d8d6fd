"""GEP's answer to a batch, decided per key.

successDetails -> acknowledged; errorDetails (or errorDetail) -> the key's errors, stays
pending; in neither list -> unknown, retried next run. ``statusCode`` (a string, and
contradicted by GEP's own examples) never decides anything.

An answer that decides no key of the batch and carries a refusal (a 4xx, or an error naming
no key of the batch) refused the batch as a whole: ``BatchRefused`` (see batches.py).
"""

from __future__ import annotations

from erp_outbound.core.http import Answer, TransientError, raise_for_transient
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.gep.batches import BatchRefused

ACKNOWLEDGED = "ACKNOWLEDGED"


def _keys(entries) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and entry.get("key") not in (None, ""):
            errors = entry.get("errors") if isinstance(entry.get("errors"), list) else []
            found.setdefault(str(entry["key"]).strip(), []).extend(e for e in errors if isinstance(e, dict))
    return found


def _acknowledged(entries) -> set[str]:
    """The keys of successDetails (the one list every key of a clean batch is in)."""
    if not isinstance(entries, list):
        return set()
    return {str(e["key"]).strip() for e in entries if isinstance(e, dict) and e.get("key") not in (None, "")}


def _batch_errors(body: dict, keys: set[str]) -> list[str]:
    """The errors of entries naming no key of the batch (a null, empty or foreign key)."""
    texts = []
    for name in ("errorDetails", "errorDetail"):
        for entry in body.get(name) if isinstance(body.get(name), list) else []:
            if isinstance(entry, dict) and str(entry.get("key") or "").strip() not in keys:
                for e in entry.get("errors") if isinstance(entry.get("errors"), list) else []:
                    if isinstance(e, dict):
                        texts.append(f"{e.get('errorCode')}: {e.get('errorDescription')}")
    return texts


def batch_verdicts(docs: list[dict], answer: Answer, check_access) -> list[Verdict]:
    raise_for_transient(answer)
    check_access(answer)
    body = answer.body if isinstance(answer.body, dict) else None
    lists_present = body is not None and any(k in body for k in ("successDetails", "errorDetails", "errorDetail"))
    refusal = 400 <= answer.status < 500
    if not lists_present:
        if refusal:
            raise BatchRefused(f"HTTP {answer.status} without per-key answers: {answer.message()[:200]}",
                               answer.status, in_gep_words=False)
        raise TransientError(f"batch not acknowledged: HTTP {answer.status} {answer.text[:80]!r}",
                             status=answer.status)
    succeeded = _acknowledged(body.get("successDetails"))
    failed = _keys(body.get("errorDetails")) | _keys(body.get("errorDetail"))
    keys = {doc["identifier"] for doc in docs}
    if not keys & (succeeded | failed.keys()):
        batch_errors = _batch_errors(body, keys)
        if refusal or batch_errors:
            raise BatchRefused("; ".join(batch_errors) or f"HTTP {answer.status} without per-key answers",
                               answer.status)
    status = answer.status
    verdicts = []
    for doc in docs:
        key = doc["identifier"]
        if key in succeeded and key not in failed:
            verdicts.append(Verdict(vendor="gep", doc_type=doc["doc_type"], document_id=doc["document_id"],
                                    identifier=key, outcome=Outcome.DELIVERED, status=ACKNOWLEDGED,
                                    http_status=status, attempts_before=doc.get("attempts", 0)))
            continue
        if key in failed:
            errors = failed[key]
            outcome, fields = Outcome.REJECTED, {
                "message": "; ".join(f"{e.get('errorCode')}: {e.get('errorDescription')}" for e in errors)
                or "GEP listed the key in errorDetails",
                "error_code": ",".join(str(e.get("errorCode")) for e in errors if e.get("errorCode")) or None}
        else:
            outcome, fields = Outcome.DEFERRED, {"message": "GEP answered neither success nor error for this key"}
        verdicts.append(Verdict(vendor="gep", doc_type=doc["doc_type"], document_id=doc["document_id"], identifier=key,
                                outcome=outcome, http_status=status, attempts_before=doc.get("attempts", 0), **fields))
    return verdicts
