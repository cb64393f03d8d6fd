"""Issue 23, point 12: messages a new operator reads name what they mean, once, whole."""

from __future__ import annotations

import asyncio
import logging

import pytest
from conftest import connect
from erp_outbound.core.http import Answer, TransientError
from erp_outbound.core.report import RunReport
from erp_outbound.core.session import AnswerLost
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.hook import make_engine
from erp_outbound.erp.journal import Journal
from erp_outbound.erp.state import ensure_tables
from erp_outbound.procuros.error_reports import ErrorReporter
from erp_outbound.procuros.hook import ProcurosHook
from erp_outbound.procuros.operators import ProcurosSendTransactionsOperator
from erp_outbound.rambase.operators import RambaseForwardInvoicesOperator
from erp_outbound.steps.load import SendContext
from erp_outbound.steps.reconcile import ReconcileOperator

RAMBASE_500 = {"error": {"httpStatusCode": 500, "message": "Deadlock while saving the invoice",
                         "errorMessage": {"errorMessageId": 101011}}}


def verdict(document_id: str, outcome: Outcome, **fields) -> Verdict:
    return Verdict(vendor="procuros", doc_type="ORDER", document_id=document_id, identifier=f"PO-{document_id}",
                   outcome=outcome, **fields)


def test_a_report_procuros_did_not_take_is_named_by_its_document_number(tmp_path, monkeypatch, sandbox_with, caplog):
    sandbox = sandbox_with(faults={"procuros.errors": {"error_500": 1.0}})
    url = f"sqlite:///{tmp_path / 'state.db'}"
    connect(monkeypatch, url, sandbox.base_url, max_tries=1)
    engine = make_engine(url)
    ensure_tables(engine)
    with caplog.at_level(logging.WARNING):
        ErrorReporter(ProcurosHook(), engine, report_after=1).report(
            [verdict("60", Outcome.BUILD_ERROR, message="cannot build", errors={"buyer.gln": ["missing"]})])
    assert "Could not report ORDER PO-60 (ERP id 60) to Procuros" in caplog.text


def test_a_broken_connection_is_said_in_words_not_by_a_class_name():
    from erp_outbound.core.client import connection_failure

    text = connection_failure(AnswerLost("ServerDisconnectedError: Server disconnected"))
    assert "AnswerLost" not in text and "Error" not in text
    assert text == ("connection failed: the connection dropped after the request went out "
                    "(the vendor may have acted on it)")


def test_the_first_checks_warning_names_the_connection_once(capsys):
    operator = ProcurosSendTransactionsOperator(task_id="load", batches={})

    class Hook:
        conn_id = "procuros_default"

        def describe(self):
            return "connection 'procuros_default' (http://127.0.0.1:9)"

    class Client:
        async def ping(self):
            raise TransientError("Procuros connection 'procuros_default' (http://127.0.0.1:9): timeout after 15s")

    send = SendContext(hook=Hook(), client=Client(), erp=None)
    assert asyncio.run(operator._preflight(send)) is False
    out = capsys.readouterr()
    warning = [line for line in (out.out + out.err).splitlines() if "first check" in line]
    assert len(warning) == 1 and warning[0].count("procuros_default") == 1, warning


def test_the_deferred_note_is_cut_after_a_whole_word():
    reasons = [f"vendor error 503: Service Unavailable while sending batch number {i} of many" for i in range(20)]
    report = RunReport("procuros", "procuros_outgoing", "run-1",
                       verdicts=[verdict(str(i), Outcome.DEFERRED, message=r) for i, r in enumerate(reasons)])
    operator = ReconcileOperator(task_id="reconcile", vendor="procuros")
    operator._notes(report, {})
    [note] = report.notes
    shown = note.split(" this run (", 1)[1].rsplit("). Nothing", 1)[0]
    assert shown.endswith(" … (all reasons in the report)")
    kept = shown.removesuffix(" … (all reasons in the report)").split()
    assert kept == "; ".join(sorted(reasons)).split()[:len(kept)], "no word is cut"


def test_a_rambase_500_with_its_error_body_is_read_and_an_uncertain_reason_says_what_came():
    from erp_outbound.rambase.verdicts import describe_answer

    answer = Answer(status=500, body=RAMBASE_500, text=str(RAMBASE_500), headers={})
    assert describe_answer(answer) == "HTTP 500: Deadlock while saving the invoice (RamBase error 101011)"
    html = Answer(status=502, body=None, text="<html><head><title>502 Bad Gateway</title></head></html>", headers={})
    assert "HTML page" in describe_answer(html)

    operator = RambaseForwardInvoicesOperator(task_id="load", batches={})
    doc = {"doc_type": "INVOICE_FORWARDING", "document_id": "7", "identifier": "151150", "attempts": 0,
           "body": "{}"}
    [answered] = operator._lost(doc, TransientError(describe_answer(answer), status=500)).verdicts
    assert answered.outcome is Outcome.UNCERTAIN
    assert not answered.message.startswith("No answer")
    assert answered.message.startswith("The forwarding request was answered HTTP 500: Deadlock while saving")
    [silent] = operator._lost(doc, TransientError("timeout after 30s")).verdicts
    assert silent.message.startswith("No answer to the forwarding request (timeout after 30s)")


def test_status_tells_build_errors_from_refused_documents(tmp_path):
    from erp_outbound.erp.status import last_verdicts_of_pending, pending_label

    engine = make_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    ensure_tables(engine)
    journal = Journal(engine, "run-1", dag_id="procuros_outgoing")
    journal.record([verdict("1", Outcome.BUILD_ERROR, message="cannot build"),
                    verdict("2", Outcome.REJECTED, message="Could not resolve party"),
                    verdict("3", Outcome.REJECTED, message="Could not resolve party"),
                    verdict("4", Outcome.DELIVERED, status="TRANSMITTED")])
    Journal(engine, "run-2", dag_id="procuros_outgoing").record([verdict("3", Outcome.DELIVERED, status="TRANSMITTED")])
    last = last_verdicts_of_pending(engine, "procuros")
    assert last == {"ORDER": {"BUILD_ERROR": 1, "REJECTED": 1}}
    assert pending_label("ORDER", 5, last) == "(pending: 1 cannot be built, 1 refused by the vendor, 3 not tried yet)"
    assert pending_label("INVOICE", 5, last) == "(pending)"


def test_the_test_button_names_the_operators_connection_and_the_forms_field(monkeypatch):
    """Issue 23, point 5: Airflow tests a copy under a random id ('tUdVhY6s'); the form says "API token"."""
    import json as jsonlib

    from erp_outbound.core.hook import TESTED_CONNECTION
    from erp_outbound.ui.connection_test import PortlessConnectionTest

    monkeypatch.setenv("AIRFLOW_CONN_TUDVHY6S", jsonlib.dumps(
        {"conn_type": "procuros", "host": "http://127.0.0.1:9", "password": ""}))
    seen = {}

    async def airflow_route(scope, receive, send):  # what Airflow's test endpoint does, in the request's context
        seen["body"] = (await receive())["body"]
        seen["result"] = ProcurosHook("tUdVhY6s").test_connection()

    async def request():
        body = jsonlib.dumps({"connection_id": "my_procuros", "conn_type": "procuros", "port": 0}).encode()
        messages = [{"type": "http.request", "body": body, "more_body": False}]
        scope = {"type": "http", "method": "POST", "path": "/api/v2/connections/test", "headers": []}
        await PortlessConnectionTest(airflow_route)(scope, lambda: asyncio.sleep(0, messages.pop(0)), None)

    asyncio.run(request())
    ok, message = seen["result"]
    assert ok is False
    assert "'my_procuros'" in message and "tUdVhY6s" not in message
    assert "API token field" in message and "Password" not in message
    assert TESTED_CONNECTION.get() is None, "only for the test request"
    assert b'"port"' not in seen["body"]
