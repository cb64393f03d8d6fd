"""Reporting documents the ERP could not build to Procuros (POST /v2/errors).

Seed 001 lets an integration wait before reporting: a document is reported once it
has failed ``report_after`` runs, and again only when its error changes.

At least once: a report counts as made only when Procuros answers 201; until then it is
tried again (under the retry policy within the run, then every next run while the document
still fails). One report that fails does not stop the others; a refused connection does.
Two verdicts of one document with one error (an interrupted run's and this run's) make one
report. Procuros offers no way to list the errors it holds, so after a lost answer (the
report may have arrived) the report is sent again: the one case where Procuros can get an
error twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence

from sqlalchemy import and_, select
from sqlalchemy.engine import Engine

from erp_outbound.core.delivery import Delivery
from erp_outbound.core.hook import run_sync
from erp_outbound.core.http import ConnectionConfigError, TransientError, raise_for_transient
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.state import error_reports, upsert, utcnow
from erp_outbound.procuros.hook import ProcurosHook

log = logging.getLogger(__name__)
DEFAULT_REPORT_AFTER = 3


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


def no_link(verdict: Verdict) -> str:
    """Where a person finds a report whose answer carried no link (Procuros lists none to ask later)."""
    return (f"Procuros' answer carried no link: find {verdict.doc_type} {verdict.identifier} among the "
            "errors in the Procuros portal")


class ErrorReporter:
    """Reports due build errors, each on its own under the retry policy (core/delivery.py): one report that
    still fails is left for the next run and never stops the others; a wrong connection stops them all."""

    def __init__(self, hook: ProcurosHook, engine: Engine, report_after: int = DEFAULT_REPORT_AFTER):
        self.hook = hook
        self.engine = engine
        self.report_after = max(1, int(report_after))
        self.outcomes: dict[tuple[str, str], str] = {}  # (doc_type, document_id) -> what happened
        self.failure: Exception | None = None  # the last reason a report could not go out
        self.made: dict[tuple[str, str], tuple[str, str | None]] = {}  # reported by this reporter: signature, URL

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
        to_send: list[tuple[Verdict, tuple[str, str], str]] = []
        again: dict[tuple[tuple[str, str], str], list[Verdict]] = {}  # later verdicts of a document being sent
        for v in due:
            key = (v.doc_type, v.document_id)
            attempt = v.attempts_before + 1
            sig = signature(v)
            if key in self.made and self.made[key][0] == sig:  # e.g. an earlier run's verdict of it
                v.error_url = self.made[key][1]
            elif (key, sig) in again:
                again[(key, sig)].append(v)
            elif key in previous and previous[key][0] == sig:
                v.error_url = previous[key][1]
                self.outcomes[key] = "reported earlier" + ("" if v.error_url else f"; {no_link(v)}")
            elif attempt < self.report_after:
                self.outcomes[key] = f"waits (failed {attempt} of {self.report_after} runs)"
            elif isinstance(self.failure, ConnectionConfigError):
                self.outcomes[key] = "not reported: Procuros refused the connection"
            else:
                to_send.append((v, key, sig))
                again[(key, sig)] = []
        if to_send:
            run_sync(lambda: self._send_all(to_send))
        for (key, _), verdicts in again.items():
            for v in verdicts:  # one report per document and error: the others share its URL
                v.error_url = self.made.get(key, (None, None))[1]

    async def _send_all(self, to_send: list[tuple[Verdict, tuple[str, str], str]]) -> None:
        settings = self.hook.delivery_settings()
        async with self.hook.client(settings) as client:

            async def send(entry: tuple[Verdict, tuple[str, str], str]) -> None:
                verdict, key, sig = entry
                answer = await client.report_error(error_report(verdict))
                client.check_access(answer)
                raise_for_transient(answer)
                body = answer.body if isinstance(answer.body, dict) else {}
                if answer.status != 201:
                    self.outcomes[key] = (f"report refused: HTTP {answer.status} {answer.message()}; "
                                          "tried again next run")
                    return
                verdict.error_url = body.get("errorUrl") or verdict.error_url
                # Procuros took the report (201) but its answer had no readable link, and it offers no way to
                # ask for it later: the report and every later one say where to find the error instead.
                self.outcomes[key] = "reported now" + ("" if verdict.error_url else f"; {no_link(verdict)}")
                self.made[key] = (sig, verdict.error_url)
                await asyncio.to_thread(self._remember, key, sig, verdict.error_url)

            def defer(entry, error: TransientError) -> None:
                # Not reported now, so nothing is remembered: the next run tries again.
                self.failure = error
                self.outcomes[entry[1]] = "not reported yet: tried again next run"
                verdict = entry[0]
                log.warning("Could not report %s %s (ERP id %s) to Procuros: %s", verdict.doc_type,
                            verdict.identifier, verdict.document_id, error)

            delivery = Delivery(settings, send, defer, lambda _: None, label="Procuros error reports")
            try:
                await delivery.deliver(to_send, len(to_send))
            except ConnectionConfigError as exc:
                self.failure = exc
                log.warning("Could not report build errors to Procuros: %s", exc)
        for _, key, _ in to_send:
            self.outcomes.setdefault(key, "not reported: Procuros refused the connection")

    def _remember(self, key: tuple[str, str], sig: str, error_url: str | None) -> None:
        # An upsert: another reconcile may remember the same document at the same moment.
        with self.engine.begin() as conn:
            conn.execute(upsert(self.engine, error_reports, dict(
                vendor="procuros", doc_type=key[0], document_id=key[1], signature=sig,
                error_url=error_url, reported_at=utcnow())))
