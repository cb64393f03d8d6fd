"""Reporting documents the ERP could not build to Procuros (POST /v2/errors).

Seed 001 lets an integration wait before reporting: a document is reported once it
has failed ``report_after`` runs, and again only when its error changes.

At least once: a report counts as made only when Procuros answers 201; until then it is
tried again (within the run, then every next run while the document still fails). One
report that fails does not stop the others; only an unreachable Procuros (several reports
in a row failing every try) or a refused connection does. Procuros offers no way to list
the errors it holds, so after a lost answer (the report may have arrived) the report is
sent again: the one case where Procuros can get an error twice.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from sqlalchemy import and_, select
from sqlalchemy.engine import Engine
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from erp_outbound.core.http import ConnectionConfigError, TransientError, raise_for_transient
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.state import error_reports, upsert, utcnow
from erp_outbound.procuros.hook import ProcurosHook

log = logging.getLogger(__name__)
DEFAULT_REPORT_AFTER = 3
UNREACHABLE_AFTER = 3  # reports in a row that failed every try: Procuros is out, stop for this run


def signature(verdict: Verdict) -> str:
    return hashlib.sha256(verdict.reason.encode("utf-8")).hexdigest()


def error_report(verdict: Verdict) -> dict:
    """The body of POST /v2/errors: a DATA error a user can fix; context values are strings."""
    context = {"documentId": verdict.document_id, "attempts": str(verdict.attempts_before + 1)}
    context |= {f"field:{name}": "; ".join(messages) for name, messages in verdict.errors.items()}
    return {
        "errorReason": f"{verdict.doc_type} {verdict.identifier} cannot be built: {verdict.reason}"[:2000],
        "errorType": "DATA",
        "errorContext": context,
        "transactionIdentifier": verdict.identifier,
        "transactionType": verdict.doc_type,
    }


class ErrorReporter:
    def __init__(self, hook: ProcurosHook, engine: Engine, report_after: int = DEFAULT_REPORT_AFTER):
        self.hook = hook
        self.engine = engine
        self.report_after = max(1, int(report_after))
        self.session = None
        self.outcomes: dict[tuple[str, str], str] = {}  # (doc_type, document_id) -> what happened
        self.failure: Exception | None = None  # set when reporting stopped for this run
        self.made: dict[tuple[str, str], tuple[str, str | None]] = {}  # reported in this run: signature, URL
        self.failed_in_a_row = 0
        self.settings = hook.delivery_settings()

    def _previous(self, verdicts: Sequence[Verdict]) -> dict[tuple[str, str], tuple[str, str | None]]:
        ids = [v.document_id for v in verdicts]
        query = select(error_reports).where(and_(error_reports.c.vendor == "procuros",
                                                 error_reports.c.document_id.in_(ids)))
        with self.engine.connect() as conn:
            return {(r.doc_type, r.document_id): (r.signature, r.error_url) for r in conn.execute(query)}

    def report(self, verdicts: Sequence[Verdict]) -> None:
        """Report due build errors; sets each reported verdict's ``error_url``."""
        due = [v for v in verdicts if v.outcome is Outcome.BUILD_ERROR]
        if not due:
            return
        previous = self._previous(due)
        for v in due:
            key = (v.doc_type, v.document_id)
            attempt = v.attempts_before + 1
            sig = signature(v)
            if key in self.made and self.made[key][0] == sig:  # e.g. an earlier run's verdict of it
                v.error_url = self.made[key][1]
            elif key in previous and previous[key][0] == sig:
                v.error_url = previous[key][1]
                self.outcomes[key] = "reported earlier"
            elif attempt < self.report_after:
                self.outcomes[key] = f"waits (failed {attempt} of {self.report_after} runs)"
            elif self.failure is None:
                self._send(v, key, sig)
            else:
                self.outcomes[key] = "not reported: Procuros unavailable"

    def _post(self, verdict: Verdict):
        """POST /v2/errors, tried again on transient failures (Retry-After respected)."""
        settings = self.settings
        backoff = wait_exponential_jitter(initial=settings.backoff_initial, max=settings.max_retry_wait)

        def wait(state) -> float:
            error = state.outcome.exception()
            after = getattr(error, "retry_after", None)
            return min(settings.max_retry_wait, after) if after else backoff(state)

        for attempt in Retrying(retry=retry_if_exception_type(TransientError), stop=stop_after_attempt(settings.max_tries),
                                wait=wait, reraise=True):
            with attempt:
                answer = self.hook.report_error(self.session, error_report(verdict), timeout=settings.timeout)
                self.hook.check_access(answer)
                raise_for_transient(answer)
        return answer

    def _send(self, verdict: Verdict, key: tuple[str, str], sig: str) -> None:
        self.session = self.session or self.hook.session()
        try:
            answer = self._post(verdict)
        except ConnectionConfigError as exc:
            self.failure = exc
            self.outcomes[key] = "not reported: Procuros refused the connection"
            return
        except TransientError as exc:
            # Not confirmed, so nothing is remembered: tried again next run while the document fails.
            self.outcomes[key] = "not reported yet: tried again next run"
            log.warning("Could not report %s %s to Procuros: %s", *key, exc)
            self.failed_in_a_row += 1
            if self.failed_in_a_row >= UNREACHABLE_AFTER:
                self.failure = exc
            return
        self.failed_in_a_row = 0
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status != 201:
            self.outcomes[key] = f"report refused: HTTP {answer.status} {answer.message()}; tried again next run"
            return
        verdict.error_url = body.get("errorUrl") or verdict.error_url
        self.outcomes[key] = "reported now"
        self.made[key] = (sig, verdict.error_url)
        # An upsert: another reconcile may remember the same document at the same moment.
        with self.engine.begin() as conn:
            conn.execute(upsert(self.engine, error_reports, dict(
                vendor="procuros", doc_type=key[0], document_id=key[1], signature=sig,
                error_url=verdict.error_url, reported_at=utcnow())))
