"""GepAcknowledgeStatusOperator: PUT acknowledgement batches to a SmartInterfaceAPI status endpoint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow.sdk.exceptions import AirflowException

from erp_outbound.core.delivery import Request
from erp_outbound.core.http import Answer, ConnectionConfigError
from erp_outbound.core.params import form_value
from erp_outbound.core.verdict import SendOutcome, Undecided, Verdict
from erp_outbound.gep.batches import BatchSize, adeliver
from erp_outbound.gep.hook import GepClient, GepSmartHook
from erp_outbound.gep.verdicts import batch_verdicts
from erp_outbound.steps.load import LoadOperator, SendContext

POR_STATUS_PATH = "SmartInterfaceAPI/api/Order/PORStatus"
DEFAULT_BATCH_SIZE = 100


@dataclass(frozen=True, slots=True, kw_only=True)
class GepSendContext(SendContext):
    sizes: BatchSize  # the run's most keys per request (gep/batches.py)


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

    @property
    def endpoint(self) -> str:
        return self.path

    def request_size(self, context) -> int:
        return max(1, int(form_value(context, "batch_size", self.batch_size, DEFAULT_BATCH_SIZE)))

    def send_context(self, context, **fields) -> GepSendContext:
        # The run's batch size: lowered by batch-level refusals, shared by every sender of this run.
        return GepSendContext(sizes=BatchSize(fields["documents_per_request"]), **fields)

    def make_hook(self) -> GepSmartHook:
        return GepSmartHook(self.gep_conn_id)

    async def preflight(self, send: SendContext) -> None:
        await send.client.check_token()

    def check_access(self, answer: Answer) -> None:
        if answer.status == 404:
            raise ConnectionConfigError(f"GEP SMART connection {self.gep_conn_id!r}: no endpoint at {self.path} "
                                        "(HTTP 404); check the instance URL and the path.")
        if answer.status in (403, 405, 415):  # the same for every batch: splitting cannot help
            raise ConnectionConfigError(f"GEP SMART connection {self.gep_conn_id!r}: {self.path} refused the "
                                        f"request (HTTP {answer.status}: {answer.message()[:200]}).")

    async def send_one(self, send: GepSendContext, request: Request) -> SendOutcome:
        client: GepClient = send.client

        async def put(part: list[dict]) -> list[Verdict]:
            body = '{"model":[' + ",".join(doc["body"] for doc in part) + "]}"
            answer = await client.call("PUT", self.path, data=body.encode("utf-8"))
            return batch_verdicts(part, answer, self.check_access)

        return SendOutcome.several(await adeliver(request.documents, put, send.sizes))

    def after_sends(self, context, send: GepSendContext, undecided: list[Undecided], stats: dict) -> dict:
        stats = super().after_sends(context, send, undecided, stats)
        stats |= {"batch_size": send.sizes.limit, "batch_refusals": send.sizes.refusals}
        if send.sizes.undeliverable:
            # Their REJECTED verdicts are recorded (reconcile reports them); the run must not look fine.
            raise AirflowException(
                f"GEP refused {send.sizes.undeliverable} keys at batch level even when sent alone; they are "
                "listed in the run report. Check GEP's message there.")
        return stats
