"""Procuros operators: send transactions (load) and reconcile with error reporting."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from erp_outbound.core import runs
from erp_outbound.core.http import ConnectionConfigError, TransientError
from erp_outbound.core.params import form_value
from erp_outbound.core.report import RunReport
from erp_outbound.core.verdict import Verdict
from erp_outbound.erp.journal import Journal
from erp_outbound.pools import take_vendor_pool
from erp_outbound.procuros.error_reports import DEFAULT_REPORT_AFTER, ErrorReporter
from erp_outbound.procuros.hook import ProcurosClient, ProcurosHook
from erp_outbound.procuros.lookups import UNCERTAIN_ACTION, AskProcuros, ask, look_up, may_have_acted
from erp_outbound.procuros.verdicts import transaction_verdict
from erp_outbound.steps.load import LoadOperator
from erp_outbound.steps.reconcile import ReconcileOperator


class ProcurosSendTransactionsOperator(LoadOperator):
    """POST /v2/transactions for every staged payload, concurrently; record each verdict at once.

    A document whose answer was lost and that Procuros then says it has ("Payload already
    received"), or whose tries ran out after a lost answer, is not recorded at once: after the
    sends, Procuros is asked what became of it (procuros/lookups.py).
    """

    vendor = "procuros"
    endpoint = "v2/transactions"

    def __init__(self, *, procuros_conn_id: str = ProcurosHook.default_conn_name, **kwargs) -> None:
        super().__init__(**kwargs)
        self.procuros_conn_id = procuros_conn_id
        self.asked: list[AskProcuros] = []

    def make_hook(self) -> ProcurosHook:
        return ProcurosHook(self.procuros_conn_id)

    async def preflight(self, client: ProcurosClient) -> None:
        await client.ping()

    async def send_one(self, client: ProcurosClient, doc: dict) -> Verdict:
        try:
            answer = await client.send_transaction(doc["body"])
            return transaction_verdict(doc, answer, client.check_access)
        except TransientError as error:
            _note_lost_answer(doc, error)
            raise

    # -- lost answers: ask Procuros after the sends ---------------------------------
    def deferred_verdict(self, item, error: TransientError):
        if isinstance(item, dict) and item.get("answer_lost"):
            return ask(item, False, f"no answer after every try ({error.reason}), one of them possibly taken",
                       error.status)
        return super().deferred_verdict(item, error)

    def on_verdict(self, writer):
        record = super().on_verdict(writer)

        def hold_lookups(result) -> None:
            for verdict in result if isinstance(result, list) else [result]:
                if isinstance(verdict, AskProcuros):
                    self.asked.append(verdict)  # decided after the sends
                else:
                    record(verdict)
        return hold_lookups

    def after_delivery(self, context, stats: dict) -> dict:
        if not self.asked:
            return stats
        self.log.info("Asking Procuros (GET /v2/all-transactions) about %d documents whose answer was lost",
                      len(self.asked))
        verdicts = asyncio.run(self._look_up(self.asked))
        Journal(self.engine, runs.run_id(context), dag_id=runs.dag_id(context)).record(verdicts)
        found = Counter(v.outcome.value for v in verdicts)
        self.log.info("After asking Procuros: %s", dict(found))
        return stats | {"looked_up": len(verdicts),
                        "lost_answers_asked": dict(Counter(v.doc_type for v in self.asked))}

    async def _look_up(self, asked: list[AskProcuros]) -> list[Verdict]:
        async with self.hook.client() as client:  # the load's client is closed by now
            return await look_up(client, asked)


def _note_lost_answer(doc: dict, error: TransientError) -> None:
    """Remember on the document that a try may have reached Procuros (its answer was lost)."""
    if may_have_acted(error):
        doc["answer_lost"] = True


class ProcurosReconcileOperator(ReconcileOperator):
    """Reconcile, reporting due build errors to Procuros (POST /v2/errors) first."""

    template_fields = (*ReconcileOperator.template_fields, "report_after")

    def __init__(self, *, procuros_conn_id: str = ProcurosHook.default_conn_name,
                 report_after: Any = None, **kwargs) -> None:
        take_vendor_pool(kwargs, "procuros")  # it reports build errors to Procuros
        super().__init__(vendor="procuros", **kwargs)
        self.procuros_conn_id = procuros_conn_id
        self.report_after = report_after
        self._reporter: ErrorReporter | None = None

    def execute(self, context) -> dict:
        self.report_after = form_value(context, "report_after", self.report_after, DEFAULT_REPORT_AFTER)
        return super().execute(context)

    def before_apply(self, verdicts: list[Verdict], report: RunReport) -> None:
        if self._reporter is None:
            self._reporter = ErrorReporter(ProcurosHook(self.procuros_conn_id), self.engine, int(self.report_after))
        self._reporter.report(verdicts)
        report.reported.update(self._reporter.outcomes)
        report.uncertain_action = UNCERTAIN_ACTION  # `erp-outbound release` has nothing to release for Procuros

    def after_apply(self, report: RunReport) -> None:
        failure = self._reporter.failure if self._reporter else None
        if failure is not None:
            report.notes.append(f"Some build errors could not be reported to Procuros: {failure}")
            self.log.warning(report.notes[-1])
            if isinstance(failure, ConnectionConfigError):
                raise failure
