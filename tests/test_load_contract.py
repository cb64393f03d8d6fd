"""One load contract (issue 27, point 1).

- a vendor's send step returns one type, a ``SendOutcome`` that says what it is: a final verdict,
  several verdicts (a GEP batch), or "ask the vendor after the sends" (with the ``Undecided``);
- what a document's tries learn lives in the engine's ``Request``; the staged row is never written to;
- what an operator needs at send time comes in the ``SendContext``; nothing is set on it in ``execute``.

The operators run here through the real delivery engine, against scripted clients.
"""

from __future__ import annotations

import ast
import asyncio
import copy
import importlib
from pathlib import Path

import pytest

from erp_outbound.core.delivery import Delivery, Request
from erp_outbound.core.delivery_settings import DeliverySettings
from erp_outbound.core.http import Answer, TransientError
from erp_outbound.core.verdict import Decision, Outcome, SendOutcome, Undecided
from erp_outbound.gep.batches import BatchSize
from erp_outbound.gep.operators import GepAcknowledgeStatusOperator, GepSendContext
from erp_outbound.procuros.lookups import AskProcuros
from erp_outbound.procuros.operators import ProcurosSendTransactionsOperator
from erp_outbound.rambase.operators import (
    RambaseForwardInvoicesOperator,
    RambaseUpdatePurchaseOrdersOperator,
    RunningOperation,
)
from erp_outbound.steps.load import LoadOperator, SendContext

SETTINGS = DeliverySettings(max_concurrency=1, max_tries=3, backoff_initial=0.001, max_retry_wait=0.01)
DOC = {"doc_type": "ORDER", "document_id": "1", "identifier": "PO-1", "attempts": 1,
       "body": '{"type":"ORDER","content":{"header":{"orderIdentifier":"PO-1"}}}'}


def answer(status: int, body=None) -> Answer:
    return Answer(status, body, "", {})


class Scripted:
    """A vendor client answering from a script: an Answer is returned, an exception raised; the last repeats."""

    def __init__(self, *script) -> None:
        self.script = list(script)
        self.calls: list[tuple] = []

    def _next(self, *call):
        self.calls.append(call)
        step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
        if isinstance(step, Exception):
            raise step
        return step

    async def send_transaction(self, body: str) -> Answer:
        return self._next("POST /v2/transactions", body)

    async def call(self, method: str, path: str, **_) -> Answer:
        return self._next(method, path)

    def check_access(self, answer: Answer) -> None:
        pass


def run(operator: LoadOperator, send: SendContext, docs: list[dict]) -> list[SendOutcome]:
    """The operator's send step for one request of ``docs``, as the load step runs it."""
    outcomes: list[SendOutcome] = []
    delivery = Delivery(SETTINGS, lambda request: operator.send_one(send, request),
                        lambda request, error: operator.deferred(send, request, error), outcomes.append)
    asyncio.run(delivery.deliver([Request(docs)], 1))
    return outcomes


def context(client) -> SendContext:
    return SendContext(hook=None, client=client, erp=None)


LOST = TransientError("timeout")  # no answer: Procuros may have taken it
ALREADY_RECEIVED = answer(400, {"message": "Payload already received."})


def test_procuros_lost_answer_then_already_received_asks_after_the_sends_and_leaves_the_row_alone():
    staged = copy.deepcopy(DOC)
    operator = ProcurosSendTransactionsOperator(task_id="load", batches={})
    [sent] = run(operator, context(Scripted(LOST, ALREADY_RECEIVED)), [staged])
    assert isinstance(sent, SendOutcome) and sent.decision is Decision.ASK_AFTER and sent.verdicts == ()
    assert isinstance(sent.undecided, AskProcuros) and sent.undecided.already_received
    assert staged == DOC, "nothing is written into the staged row"


def test_procuros_tries_run_out_after_a_lost_answer_ask_after_the_sends():
    staged = copy.deepcopy(DOC)
    [sent] = run(ProcurosSendTransactionsOperator(task_id="load", batches={}), context(Scripted(LOST)), [staged])
    assert sent.decision is Decision.ASK_AFTER and not sent.undecided.already_received
    assert "possibly taken" in sent.undecided.message
    assert staged == DOC


def test_procuros_tries_run_out_without_a_lost_answer_is_a_final_deferral():
    not_taken = TransientError("unavailable", status=503)  # a 503 says Procuros did not take it
    [sent] = run(ProcurosSendTransactionsOperator(task_id="load", batches={}), context(Scripted(not_taken)), [DOC])
    assert sent.decision is Decision.FINAL and sent.undecided is None
    assert [v.outcome for v in sent.verdicts] == [Outcome.DEFERRED]


def test_procuros_created_is_one_final_verdict():
    [sent] = run(ProcurosSendTransactionsOperator(task_id="load", batches={}),
                 context(Scripted(answer(201, {"procurosTransactionId": "t-1"}))), [DOC])
    assert sent.decision is Decision.FINAL
    assert [(v.outcome, v.vendor_reference) for v in sent.verdicts] == [(Outcome.DELIVERED, "t-1")]


def forwarding(monkeypatch) -> tuple[RambaseForwardInvoicesOperator, list[str]]:
    operator = RambaseForwardInvoicesOperator(task_id="load", batches={})
    marks: list[str] = []
    monkeypatch.setattr(operator, "_erp", lambda send, name, **params: marks.append(name))
    return operator, marks


def test_rambase_remembers_the_request_went_out_in_the_request_not_the_row(monkeypatch):
    operator, marks = forwarding(monkeypatch)
    staged = copy.deepcopy(DOC)
    running = answer(201, {"operationInstance": {"operationInstanceId": 7, "status": 2}})
    [sent] = run(operator, context(Scripted(answer(429), running)), [staged])
    assert marks == ["mark_requested", "store_operation"], "marked once before the first POST, not per try"
    assert sent.decision is Decision.ASK_AFTER and sent.verdicts == ()
    assert isinstance(sent.undecided, RunningOperation) and sent.undecided.instance_id == "7"
    assert sent.undecided.carried()["document_id"] == "1"
    assert staged == DOC, "nothing is written into the staged row"


def test_rambase_refused_every_try_clears_the_mark_and_defers(monkeypatch):
    operator, marks = forwarding(monkeypatch)
    staged = copy.deepcopy(DOC)
    [sent] = run(operator, context(Scripted(answer(503))), [staged])
    assert marks == ["mark_requested", "clear_requested"]
    assert sent.decision is Decision.FINAL and [v.outcome for v in sent.verdicts] == [Outcome.DEFERRED]
    assert staged == DOC


def test_rambase_update_is_one_final_verdict():
    operator = RambaseUpdatePurchaseOrdersOperator(task_id="load", batches={})
    [sent] = run(operator, context(Scripted(answer(200, {"purchaseOrder": {"purchaseOrderId": 1}}))), [DOC])
    assert sent.decision is Decision.FINAL and len(sent.verdicts) == 1


def test_a_gep_batch_is_several_verdicts_one_per_document():
    docs = [dict(DOC, document_id=str(n), identifier=f"PO-{n}", body="{}") for n in range(3)]
    client = Scripted(answer(200, {"successDetails": [{"key": f"PO-{n}"} for n in range(3)]}))
    send = GepSendContext(hook=None, client=client, erp=None, documents_per_request=3, sizes=BatchSize(3))
    [sent] = run(GepAcknowledgeStatusOperator(task_id="load", batches={}), send, docs)
    assert sent.decision is Decision.SEVERAL and sent.undecided is None
    assert [(v.document_id, v.outcome) for v in sent.verdicts] == [(str(n), Outcome.DELIVERED) for n in range(3)]


def test_an_operator_that_leaves_documents_undecided_must_decide_them():
    class Careless(LoadOperator):
        vendor = "careless"

    undecided = Undecided(vendor="careless", doc_type="ORDER", document_id="1", identifier="PO-1")
    with pytest.raises(TypeError, match="1 documents undecided"):
        Careless(task_id="load", batches={}).after_sends({}, context(None), [undecided], {})


LOAD_OPERATORS = ["steps.load", "procuros.operators", "rambase.operators", "gep.operators"]
# The one result kept on the operator: the counts OpenLineage reads after execute, in a forked process where the
# task's XCom cannot be read back (get_openlineage_facets_on_complete). No send step reads it.
KEPT_FOR_LINEAGE = {"LoadOperator.execute: self.lineage_counts"}


@pytest.mark.parametrize("module", LOAD_OPERATORS)
def test_no_load_operator_sets_attributes_outside_its_constructor(module):
    """What an operator needs at send time is passed in (SendContext), never left on ``self`` by ``execute``."""
    imported = importlib.import_module(f"erp_outbound.{module}")
    tree = ast.parse(Path(imported.__file__).read_text(encoding="utf-8"))
    offenders = []
    for cls in tree.body:
        if not (isinstance(cls, ast.ClassDef) and issubclass(getattr(imported, cls.name), LoadOperator)):
            continue
        for function in cls.body:
            if isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)) and function.name != "__init__":
                for node in ast.walk(function):
                    targets = node.targets if isinstance(node, ast.Assign) else \
                        [node.target] if isinstance(node, (ast.AugAssign, ast.AnnAssign)) else []
                    offenders += [f"{cls.name}.{function.name}: self.{t.attr}" for t in targets
                                  if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name)
                                  and t.value.id == "self"]
    assert [o for o in offenders if o not in KEPT_FOR_LINEAGE] == []
