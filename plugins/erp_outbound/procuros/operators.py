"""Procuros operators: send transactions (load) and reconcile with error reporting."""

from __future__ import annotations

from typing import Any

from erp_outbound.core.http import ConnectionConfigError
from erp_outbound.core.params import form_value
from erp_outbound.core.report import RunReport
from erp_outbound.core.verdict import Verdict
from erp_outbound.pools import take_vendor_pool
from erp_outbound.procuros.errors import DEFAULT_REPORT_AFTER, ErrorReporter
from erp_outbound.procuros.hook import ProcurosClient, ProcurosHook
from erp_outbound.procuros.verdicts import transaction_verdict
from erp_outbound.steps.load import LoadOperator
from erp_outbound.steps.reconcile import ReconcileOperator


class ProcurosSendTransactionsOperator(LoadOperator):
    """POST /v2/transactions for every staged payload, concurrently; record each verdict at once."""

    vendor = "procuros"

    def __init__(self, *, procuros_conn_id: str = ProcurosHook.default_conn_name, **kwargs) -> None:
        super().__init__(**kwargs)
        self.procuros_conn_id = procuros_conn_id

    def make_hook(self) -> ProcurosHook:
        return ProcurosHook(self.procuros_conn_id)

    async def preflight(self, client: ProcurosClient) -> None:
        await client.ping()

    async def send_one(self, client: ProcurosClient, doc: dict) -> Verdict:
        answer = await client.send_transaction(doc["body"])
        return transaction_verdict(doc, answer, client.check_access)


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

    def after_apply(self, report: RunReport) -> None:
        failure = self._reporter.failure if self._reporter else None
        if failure is not None:
            report.notes.append(f"Some build errors could not be reported to Procuros: {failure}")
            self.log.warning(report.notes[-1])
            if isinstance(failure, ConnectionConfigError):
                raise failure
