"""Procuros operators: send transactions (load) and reconcile with error reporting."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from erp_outbound.core import runs
from erp_outbound.core.delivery import Request
from erp_outbound.core.http import ConnectionConfigError, TransientError
from erp_outbound.core.params import form_value
from erp_outbound.core.report import RunReport
from erp_outbound.core.verdict import SendOutcome, Undecided, Verdict
from erp_outbound.erp.journal import Journal
from erp_outbound.pools import take_vendor_pool
from erp_outbound.procuros.error_reports import DEFAULT_REPORT_AFTER, ErrorReporter
from erp_outbound.procuros.hook import ProcurosClient, ProcurosHook
from erp_outbound.procuros.lookups import UNCERTAIN_ACTION, ask, look_up, may_have_acted
from erp_outbound.procuros.verdicts import transaction_outcome
from erp_outbound.steps.load import LoadOperator, SendContext
from erp_outbound.steps.reconcile import ReconcileOperator


class ProcurosSendTransactionsOperator(LoadOperator):
    """POST /v2/transactions for every staged payload, concurrently; record each verdict at once.

    A document whose answer was lost and that Procuros then says it has ("Payload already
    received"), or whose tries ran out after a lost answer, is not recorded at once: its outcome
    says "ask the vendor after the sends", and Procuros is asked what became of it
    (procuros/lookups.py).
    """

    vendor = "procuros"
    endpoint = "v2/transactions"

    def __init__(self, *, procuros_conn_id: str = ProcurosHook.default_conn_name, **kwargs) -> None:
        super().__init__(**kwargs)
        self.procuros_conn_id = procuros_conn_id

    def make_hook(self) -> ProcurosHook:
        return ProcurosHook(self.procuros_conn_id)

    async def preflight(self, send: SendContext) -> None:
        await send.client.ping()

    async def send_one(self, send: SendContext, request: Request) -> SendOutcome:
        client: ProcurosClient = send.client
        doc = request.document
        try:
            answer = await client.send_transaction(doc["body"])
            return transaction_outcome(doc, answer, client.check_access)
        except TransientError as error:
            request.answer_lost |= may_have_acted(error)  # this try may have reached Procuros
            raise

    # -- lost answers: ask Procuros after the sends ---------------------------------
    def deferred(self, send: SendContext, request: Request, error: TransientError) -> SendOutcome:
        if request.answer_lost:
            return SendOutcome.ask_after(ask(request.document, False, f"no answer after every try ({error.reason}), "
                                             "one of them possibly taken", error.status))
        return super().deferred(send, request, error)

    def after_sends(self, context, send: SendContext, undecided: list[Undecided], stats: dict) -> dict:
        if not undecided:
            return stats
        self.log.info("Asking Procuros (GET /v2/all-transactions) about %d documents whose answer was lost",
                      len(undecided))
        verdicts = asyncio.run(self._look_up(send.hook, undecided))
        Journal(send.erp, runs.run_id(context), dag_id=runs.dag_id(context)).record(verdicts)
        found = Counter(v.outcome.value for v in verdicts)
        self.log.info("After asking Procuros: %s", dict(found))
        return stats | {"looked_up": len(verdicts),
                        "lost_answers_asked": dict(Counter(u.doc_type for u in undecided))}

    @staticmethod
    async def _look_up(hook: ProcurosHook, asked: list[Undecided]) -> list[Verdict]:
        async with hook.client() as client:  # the sends' client is closed by now
            return await look_up(client, asked)


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
