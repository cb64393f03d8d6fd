"""RamBase operators: PUT purchase orders, and forward order responses with API operation 100860."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from erp_outbound.core import runs
from erp_outbound.core.delivery import Request
from erp_outbound.core.http import TransientError
from erp_outbound.core.params import form_value
from erp_outbound.core.settings import erp_now
from erp_outbound.core.tokens import TokenUnavailable
from erp_outbound.core.verdict import Outcome, SendOutcome, Undecided
from erp_outbound.erp.hook import ErpHook
from erp_outbound.erp.journal import Journal
from erp_outbound.erp.sql import statement
from erp_outbound.rambase.hook import RambaseClient, RambaseHook
from erp_outbound.rambase.verdicts import (
    describe_answer,
    rambase_verdict,
    operation_instance,
    operation_verdict,
    order_update_verdict,
    rejected,
    uncertain_check,
)
from erp_outbound.steps.load import LoadOperator, SendContext, deferred_verdict

FORWARD_OPERATION = "100860"
# A 429 or 503 means RamBase did not run the operation: safe to try again. Any other
# failure after the POST left may have run it, and a POST of an operation is not idempotent.
NOT_EXECUTED = (429, 503)


class RambaseLoadOperator(LoadOperator):
    vendor = "rambase"

    def __init__(self, *, rambase_conn_id: str = RambaseHook.default_conn_name, **kwargs) -> None:
        super().__init__(**kwargs)
        self.rambase_conn_id = rambase_conn_id

    def make_hook(self) -> RambaseHook:
        return RambaseHook(self.rambase_conn_id)

    async def preflight(self, send: SendContext) -> None:
        # Only a token: no read the seeds do not document (it may need a duty the client lacks).
        await send.client.check_token()


class RambaseUpdatePurchaseOrdersOperator(RambaseLoadOperator):
    """PUT procurement/orders/{purchaseOrderId} for every staged update (PUT is idempotent)."""

    endpoint = "procurement/orders/{purchaseOrderId}"

    async def send_one(self, send: SendContext, request: Request) -> SendOutcome:
        doc = request.document
        answer = await send.client.call("PUT", f"procurement/orders/{doc['identifier']}",
                                        data=doc["body"].encode("utf-8"), headers={"Content-Type": "application/json"})
        return SendOutcome.final(order_update_verdict(doc, answer, self.rambase_conn_id))


@dataclass(slots=True, kw_only=True)
class RunningOperation(Undecided):
    """A forwarding operation still running at RamBase: the trigger polls it after the sends."""

    instance_id: str
    link: str  # the operation instance's path, polled by the trigger

    def carried(self) -> dict:
        """What the trigger carries back for it (JSON): the document's keys, as ``operation_verdict`` reads them."""
        return {"doc_type": self.doc_type, "document_id": self.document_id, "identifier": self.identifier,
                "attempts": self.attempts_before, "link": self.link}


class RambaseForwardInvoicesOperator(RambaseLoadOperator):
    """POST the forwarding operation once per document, store its instance id, wait in a trigger.

    A document whose operation id is already stored is only polled, never POSTed again:
    a retried or restarted task resumes where the last one stopped.
    """

    template_fields = (*LoadOperator.template_fields, "timeout_seconds")
    endpoint = f"procurement/order-responses/{{purchaseOrderResponseId}}/api-operations/{FORWARD_OPERATION}/instances"

    def __init__(self, *, timeout_seconds: Any = None, poll_seconds: float = 2.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.timeout_seconds = timeout_seconds
        self.poll_seconds = poll_seconds

    @staticmethod
    def _erp(send: SendContext, name: str, **params) -> None:
        """One bookkeeping statement on the ERP row, committed at once."""
        with send.erp.begin() as conn:
            conn.execute(statement("rambase", "invoice_forwarding", name), params)

    async def send_one(self, send: SendContext, request: Request) -> SendOutcome:
        client: RambaseClient = send.client
        doc = request.document
        if doc.get("operation_instance_id"):
            answer = await client.call("GET", f"system/api/operation-instances/{doc['operation_instance_id']}")
            return self._instance_outcome(doc, answer)
        if not request.requested:
            # Written before the POST leaves: a lost answer can then never lead to a second POST.
            await asyncio.to_thread(self._erp, send, "mark_requested", document_id=doc["document_id"], at=erp_now())
            request.requested = True
        path = f"procurement/order-responses/{doc['identifier']}/api-operations/{FORWARD_OPERATION}/instances"
        try:
            answer = await client.call("POST", path, data=doc["body"].encode("utf-8"),
                                       headers={"Content-Type": "application/json"})
        except TokenUnavailable:
            raise  # the POST never left: safe to try again
        except TransientError as exc:
            return self._lost(doc, exc)
        if answer.status in NOT_EXECUTED:
            raise TransientError(f"not run by RamBase: HTTP {answer.status}", answer.retry_after, answer.status)
        if answer.status >= 500:
            return self._lost(doc, TransientError(describe_answer(answer), status=answer.status))
        instance = operation_instance(answer.body)
        if instance is None:
            if 400 <= answer.status < 500:
                # nothing ran
                await asyncio.to_thread(self._erp, send, "clear_requested", document_id=doc["document_id"])
                return SendOutcome.final(rejected(doc, answer, f"POST {path}", self.rambase_conn_id))
            return self._lost(doc, TransientError(f"{describe_answer(answer)}, no operation in it",
                                                  status=answer.status))
        await asyncio.to_thread(self._erp, send, "store_operation", document_id=doc["document_id"],
                                instance_id=str(instance["operationInstanceId"]))
        return self._instance_outcome(doc, answer)

    def _instance_outcome(self, doc: dict, answer) -> SendOutcome:
        instance = operation_instance(answer.body)
        if instance is None:
            if 400 <= answer.status < 500 and answer.status != 429:
                return SendOutcome.final(rejected(doc, answer, "GET system/api/operation-instances",
                                                  self.rambase_conn_id))
            raise TransientError(f"unreadable operation instance: HTTP {answer.status}", status=answer.status)
        verdict = operation_verdict(doc, instance)
        if verdict is not None:
            return SendOutcome.final(verdict)
        instance_id = str(instance["operationInstanceId"])  # still running: the trigger waits for it
        return SendOutcome.ask_after(RunningOperation(
            vendor=self.vendor, doc_type=doc["doc_type"], document_id=doc["document_id"], identifier=doc["identifier"],
            attempts_before=doc["attempts"], instance_id=instance_id,
            link=instance.get("operationInstanceLink") or f"system/api/operation-instances/{instance_id}"))

    def _lost(self, doc: dict, error: TransientError) -> SendOutcome:
        """The POST may have run: UNCERTAIN (not a refusal, no attempt); never sent again until a person
        checked RamBase and released the row."""
        # "No answer" only when none came: a 500 or a proxy's page did arrive, and says something.
        what_happened = (f"No answer to the forwarding request ({error.reason})" if error.status is None else
                         f"The forwarding request was answered {error.reason}")
        return SendOutcome.final(rambase_verdict(doc, Outcome.UNCERTAIN, http_status=error.status,
                                                 message=uncertain_check(doc, what_happened, self.dag_id)))

    def deferred(self, send: SendContext, request: Request, error: TransientError) -> SendOutcome:
        if request.requested and not request.document.get("operation_instance_id"):
            # 429/503 only: it never ran
            self._erp(send, "clear_requested", document_id=request.document["document_id"])
        return super().deferred(send, request, error)

    def wait_seconds(self, context) -> float:
        """``timeout_seconds``, or else the run's "Wait for operations (minutes)" field, or 30 minutes."""
        if self.timeout_seconds is not None:
            return float(self.timeout_seconds)
        return float(form_value(context, "wait_minutes", None, 30)) * 60

    def after_sends(self, context, send: SendContext, undecided: list[Undecided], stats: dict) -> dict:
        running = {op.instance_id: op.carried() for op in undecided if isinstance(op, RunningOperation)}
        if not running:
            return super().after_sends(context, send, undecided, stats)
        # Airflow's trigger base is imported only when a run defers: DAG files import this module.
        from erp_outbound.rambase.triggers import RambaseOperationTrigger

        self.log.info("%d RamBase operations are still running; waiting for them in the triggerer", len(running))
        self.defer(
            trigger=RambaseOperationTrigger(
                self.rambase_conn_id, {i: r["link"] for i, r in running.items()},
                timeout_at=time.time() + self.wait_seconds(context), poll_seconds=self.poll_seconds,
                carry={"running": running, "stats": stats}),
            method_name="resume",
        )

    def resume(self, context, event: dict) -> dict:
        """Back from the trigger: record the finished operations; the others go on next run."""
        running, stats = event["carry"]["running"], event["carry"]["stats"]
        journal = Journal(ErpHook(self.erp_conn_id).engine, runs.run_id(context), dag_id=runs.dag_id(context))
        verdicts = []
        for instance_id, instance in event.get("finished", {}).items():
            verdicts.append(operation_verdict(running[instance_id], instance))
        for instance_id in event.get("timed_out", []):
            verdicts.append(deferred_verdict(self.vendor, running[instance_id], TransientError(
                f"operation {instance_id} still running at the timeout")))
        journal.record([v for v in verdicts if v is not None])
        self.log.info("Operations finished: %d, still running (resumed next run): %d",
                      len(event.get("finished", {})), len(event.get("timed_out", [])))
        if event.get("status") == "error":
            raise RuntimeError(event.get("message"))
        return stats | {"polled": len(running), "timed_out": len(event.get("timed_out", []))}
