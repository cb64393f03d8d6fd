"""Procuros operators: send transactions (load) and reconcile with error reporting."""

from __future__ import annotations

import json
import logging
import statistics
from collections.abc import Iterator
from typing import Any

from airflow.sdk import BaseOperator
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from erp_outbound.core import runs, settings
from erp_outbound.core.delivery import Delivery
from erp_outbound.core.http import ConnectionConfigError, TransientError
from erp_outbound.core.report import RunReport
from erp_outbound.core.storage import Folder, read_lines, safe_name
from erp_outbound.core.transform import build_error_verdicts
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.claims import Claims
from erp_outbound.erp.hook import ErpHook
from erp_outbound.erp.journal import Journal, JournalWriter
from erp_outbound.core.params import as_bool
from erp_outbound.erp.operators import ReconcileOperator
from erp_outbound.procuros.errors import DEFAULT_REPORT_AFTER, ErrorReporter
from erp_outbound.procuros.hook import ProcurosHook
from erp_outbound.procuros.verdicts import transaction_verdict

log = logging.getLogger(__name__)
BODY_MARK = ',"body":'


def split_payload_line(line: str) -> tuple[dict, str]:
    """A staged payload line -> (document keys, body JSON text), without parsing the body."""
    cut = line.index(BODY_MARK)
    return json.loads(line[:cut] + "}"), line[cut + len(BODY_MARK):-1]


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


class ProcurosSendTransactionsOperator(BaseOperator):
    """POST /v2/transactions for every staged payload, concurrently; record each verdict at once."""

    template_fields = ("batches", "extracted", "dry_run")
    # ``batches`` is transform's XCom: payload batches and staged build errors.
    ui_color = "#fde8e8"

    def __init__(self, *, batches: Any, extracted: Any = None, procuros_conn_id: str = ProcurosHook.default_conn_name,
                 erp_conn_id: str = ErpHook.default_conn_name, dry_run: Any = False, **kwargs) -> None:
        super().__init__(**kwargs)
        self.batches = batches
        self.extracted = extracted
        self.procuros_conn_id = procuros_conn_id
        self.erp_conn_id = erp_conn_id
        self.dry_run = dry_run

    def execute(self, context) -> dict:
        built = self.batches or {}
        batches = built.get("batches", [])
        total = sum(b["count"] for b in batches)
        dry_run = as_bool(self.dry_run)
        engine = ErpHook(self.erp_conn_id).engine
        journal = Journal(engine, runs.run_id(context), dry_run)
        build_errors = build_error_verdicts("procuros", built.get("build_errors", []))
        if dry_run:
            journal.record(build_errors)
            return self._preview(context, batches, total)
        hook = ProcurosHook(self.procuros_conn_id)
        settings_ = hook.delivery_settings()
        token = (self.extracted or {}).get("claim_token")
        claims = Claims.resume(engine, runs.run_id(context), token) if token else None
        self.skipped = 0
        if total == 0 and not build_errors:
            self.log.info("Nothing to send.")
            return {"answered": 0, "deferred": 0}
        unreachable = self._preflight(hook, settings_.max_tries)
        if not unreachable:
            # Build errors count as attempts only once Procuros can hear about them.
            journal.record(build_errors)
        self.log.info("Sending %d documents to %s with up to %d requests at once",
                      total, hook.describe(), settings_.max_concurrency)

        def send_one(session, doc, timeout) -> Verdict:
            answer = hook.send_transaction(session, doc["body"], timeout)
            return transaction_verdict(doc, answer, hook.check_access)

        def defer(doc, error: TransientError) -> Verdict:
            return Verdict("procuros", doc["doc_type"], doc["document_id"], doc["identifier"], Outcome.DEFERRED,
                           message=error.reason, http_status=error.status, attempts_before=doc["attempts"])

        with JournalWriter(journal) as writer:
            if unreachable:
                for doc in self._documents(batches, claims):
                    writer.put(defer(doc, unreachable))
                stats = {"answered": 0, "deferred": total - self.skipped, "unreachable": unreachable.reason}
            else:
                delivery = Delivery(settings_, hook.session, send_one, defer, writer.put, label="Procuros transactions")
                result = delivery.run(self._documents(batches, claims), total)
                stats = result.as_dict() | {
                    "latency_p50_ms": _ms(_percentile(result.latencies, 50)),
                    "latency_p95_ms": _ms(_percentile(result.latencies, 95)),
                }
        stats["skipped_claims"] = self.skipped
        self.log.info("Delivery: %s", {k: v for k, v in stats.items() if k != "transient_reasons"})
        return stats

    def _preflight(self, hook: ProcurosHook, tries: int) -> TransientError | None:
        """GET /v2/ping: a wrong connection fails now; an unreachable Procuros defers everything."""
        try:
            for attempt in Retrying(retry=retry_if_exception_type(TransientError), stop=stop_after_attempt(tries),
                                    wait=wait_exponential_jitter(initial=1, max=20), reraise=True):
                with attempt:
                    hook.ping()
        except TransientError as exc:
            self.log.warning("Procuros is unreachable (%s): every document stays pending for the next run", exc)
            return exc
        return None

    def _documents(self, batches: list[dict], claims: Claims | None) -> Iterator[dict]:
        for batch in batches:
            docs = []
            for line in read_lines(batch["ref"]):
                keys, body = split_payload_line(line)
                keys["body"] = body
                docs.append(keys)
            if claims is not None:
                held = claims.held("procuros", batch["doc_type"], [d["document_id"] for d in docs])
                if len(held) < len(docs):
                    self.skipped += len(docs) - len(held)
                    self.log.warning("%d %s documents lost their claim (lease expired); not sent by this run",
                                     len(docs) - len(held), batch["doc_type"])
                docs = [d for d in docs if d["document_id"] in held]
            yield from docs

    def _preview(self, context, batches: list[dict], total: int) -> dict:
        """Dry run: write what would be sent to the reports folder; send nothing."""
        folder = Folder(settings.reports_url())
        name = safe_name(f"{context['dag'].dag_id}__{runs.run_id(context)}__dry-run-payloads.jsonl")
        lines = (line for batch in batches for line in read_lines(batch["ref"]))
        path = folder.write_lines(name, lines)
        for batch in batches:
            self.log.info("Dry run: would send %d %s documents", batch["count"], batch["doc_type"])
        self.log.info("Dry run: the %d payloads that would be sent are in %s", total, path)
        return {"would_send": total, "preview": path}


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 1)


class ProcurosReconcileOperator(ReconcileOperator):
    """Reconcile, reporting due build errors to Procuros (POST /v2/errors) first."""

    template_fields = (*ReconcileOperator.template_fields, "report_after")

    def __init__(self, *, procuros_conn_id: str = ProcurosHook.default_conn_name,
                 report_after: Any = DEFAULT_REPORT_AFTER, **kwargs) -> None:
        super().__init__(vendor="procuros", **kwargs)
        self.procuros_conn_id = procuros_conn_id
        self.report_after = report_after
        self._reporter: ErrorReporter | None = None

    def before_apply(self, verdicts: list[Verdict], report: RunReport) -> None:
        if self._reporter is None:
            engine = ErpHook(self.erp_conn_id).engine
            self._reporter = ErrorReporter(ProcurosHook(self.procuros_conn_id), engine, int(self.report_after))
        self._reporter.report(verdicts)
        report.reported.update(self._reporter.outcomes)

    def after_apply(self, report: RunReport) -> None:
        failure = self._reporter.failure if self._reporter else None
        if failure is not None:
            report.notes.append(f"Some build errors could not be reported to Procuros: {failure}")
            self.log.warning(report.notes[-1])
            if isinstance(failure, ConnectionConfigError):
                raise failure
