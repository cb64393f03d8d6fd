"""GepAcknowledgeStatusOperator: PUT acknowledgement batches to a SmartInterfaceAPI status endpoint."""

from __future__ import annotations

from typing import Any

from erp_outbound.core.http import Answer, ConnectionConfigError
from erp_outbound.core.params import form_value
from erp_outbound.core.verdict import Verdict
from erp_outbound.gep.hook import GepClient, GepSmartHook
from erp_outbound.gep.verdicts import batch_verdicts
from erp_outbound.steps.load import LoadOperator

POR_STATUS_PATH = "SmartInterfaceAPI/api/Order/PORStatus"


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

    def execute(self, context) -> dict:
        self.documents_per_request = max(1, int(form_value(context, "batch_size", self.batch_size, 100)))
        return super().execute(context)

    def make_hook(self) -> GepSmartHook:
        return GepSmartHook(self.gep_conn_id)

    async def preflight(self, client: GepClient) -> None:
        await client.check_token()

    def check_access(self, answer: Answer) -> None:
        if answer.status == 404:
            raise ConnectionConfigError(f"GEP SMART connection {self.gep_conn_id!r}: no endpoint at {self.path} "
                                        "(HTTP 404); check the instance URL and the path.")

    async def send_one(self, client: GepClient, batch: list[dict]) -> list[Verdict]:
        body = '{"model":[' + ",".join(doc["body"] for doc in batch) + "]}"
        answer = await client.call("PUT", self.path, data=body.encode("utf-8"))
        return batch_verdicts(batch, answer, self.check_access)
