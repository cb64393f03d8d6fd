"""GepAcknowledgeStatusOperator: PUT acknowledgement batches to a SmartInterfaceAPI status endpoint."""

from __future__ import annotations

from typing import Any

from airflow.sdk.exceptions import AirflowException

from erp_outbound.core.http import Answer, ConnectionConfigError
from erp_outbound.core.params import form_value
from erp_outbound.core.verdict import Verdict
from erp_outbound.gep.batches import BatchSize, adeliver
from erp_outbound.gep.hook import GepClient, GepSmartHook
from erp_outbound.gep.verdicts import batch_verdicts
from erp_outbound.steps.load import LoadOperator

POR_STATUS_PATH = "SmartInterfaceAPI/api/Order/PORStatus"
DEFAULT_BATCH_SIZE = 100


class GepAcknowledgeStatusOperator(LoadOperator):
    """Sends ``{"model": [...]}`` in batches and decides every key from the answer's lists.

    ``path`` picks the endpoint: Order/PORStatus by default; the siblings Order/OrderStatus,
    Invoice/InvoiceStatus, Receipt/ReceiptStatus, Contract/ContractStatus and
    CreditMemo/CreditMemoStatus take the same body.
    """

    vendor = "gep"
    template_fields = (*LoadOperator.template_fields, "batch_size")

    def __init__(self, *, path: str = POR_STATUS_PATH, batch_size: Any = None,
                 gep_conn_id: str = GepSmartHook.default_conn_name, **kwargs) -> None:
        super().__init__(**kwargs)
        self.path = path
        self.batch_size = batch_size
        self.gep_conn_id = gep_conn_id
        self.sizes = BatchSize(DEFAULT_BATCH_SIZE)  # set from the form in execute

    @property
    def endpoint(self) -> str:
        return self.path

    def execute(self, context) -> dict:
        self.documents_per_request = max(1, int(form_value(context, "batch_size", self.batch_size, DEFAULT_BATCH_SIZE)))
        self.sizes = BatchSize(self.documents_per_request)  # lowered by batch-level refusals, for this run
        return super().execute(context)

    def make_hook(self) -> GepSmartHook:
        return GepSmartHook(self.gep_conn_id)

    async def preflight(self, client: GepClient) -> None:
        await client.check_token()

    def check_access(self, answer: Answer) -> None:
        if answer.status == 404:
            raise ConnectionConfigError(f"GEP SMART connection {self.gep_conn_id!r}: no endpoint at {self.path} "
                                        "(HTTP 404); check the instance URL and the path.")
        if answer.status in (403, 405, 415):  # the same for every batch: splitting cannot help
            raise ConnectionConfigError(f"GEP SMART connection {self.gep_conn_id!r}: {self.path} refused the "
                                        f"request (HTTP {answer.status}: {answer.message()[:200]}).")

    async def send_one(self, client: GepClient, batch: list[dict]) -> list[Verdict]:
        async def send(part: list[dict]) -> list[Verdict]:
            body = '{"model":[' + ",".join(doc["body"] for doc in part) + "]}"
            answer = await client.call("PUT", self.path, data=body.encode("utf-8"))
            return batch_verdicts(part, answer, self.check_access)

        return await adeliver(batch, send, self.sizes)

    def after_delivery(self, context, stats: dict) -> dict:
        stats |= {"batch_size": self.sizes.limit, "batch_refusals": self.sizes.refusals}
        if self.sizes.undeliverable:
            # Their REJECTED verdicts are recorded (reconcile reports them); the run must not look fine.
            raise AirflowException(
                f"GEP refused {self.sizes.undeliverable} keys at batch level even when sent alone; they are "
                "listed in the run report. Check GEP's message there.")
        return stats
