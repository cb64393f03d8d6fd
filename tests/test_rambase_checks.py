"""RamBase with only the documented calls, and refusals that name their cause (issue 15, RamBase checks)."""

from __future__ import annotations

import json
import socket

import pytest

from conftest import connect, connect_rambase
from test_rambase_dags import erp, rows, run  # noqa: F401 - the demo ERP fixture

pytestmark = pytest.mark.airflow

FORWARDER_ONLY = {"rambase.orders_list": "Purchase order reader", "rambase.orders": "Purchase order administrator"}


def hook(monkeypatch, url: str, **extra):
    from erp_outbound.rambase.hook import RambaseHook

    connect_rambase(monkeypatch, url, **extra)
    return RambaseHook()


def test_a_client_that_only_forwards_invoices_forwards_them(erp, files, sandbox_with, monkeypatch):  # noqa: F811
    url, summary = erp
    sandbox = sandbox_with(rambase={"polls_to_finish": 1, "missing_duties": FORWARDER_ONLY})
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url)

    assert str(run("rambase_invoice_forwarding").state).endswith("success")

    frame = rows(url, "rambase_invoice_matches")
    expected = summary["rambase_invoice_matches"]["expected"]
    assert (frame.forward_status == "FORWARDED").sum() == expected["FORWARDED"]
    record = sandbox.snapshot()["rambase"]
    assert record["duty_refusals"] == {}, "no call outside seed 003 (and the token) was made"
    assert sum(record["operation_posts"].values()) == expected["FORWARDED"] + expected["ERROR"]


def test_a_missing_duty_on_orders_names_the_duty_and_the_call(erp, files, sandbox_with, monkeypatch):  # noqa: F811
    url, _ = erp
    sandbox = sandbox_with(rambase={"missing_duties": {"rambase.orders": "Purchase order administrator"}})
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url)

    assert str(run("rambase_purchase_orders", {"limit": 5}).state).endswith("success")

    frame = rows(url, "rambase_po_updates")
    refused = frame[frame.rambase_error_id.notna()]
    assert len(refused) == 5 and refused.rambase_status.isna().all()
    assert refused.rambase_error.str.contains("lacks the duty 'Purchase order administrator'").all()
    assert refused.rambase_error.str.contains("PUT procurement/orders/").all()


def test_the_connection_check_warns_of_a_missing_duty(sandbox_with, monkeypatch):
    sandbox = sandbox_with(rambase={"missing_duties": FORWARDER_ONLY})
    ok, message = hook(monkeypatch, sandbox.base_url).test_connection()
    assert ok, message
    assert message.startswith("Warning")
    assert "'Purchase order reader'" in message and "GET procurement/orders" in message


def test_the_connection_check_passes_with_every_duty(sandbox_with, monkeypatch):
    sandbox = sandbox_with()
    ok, message = hook(monkeypatch, sandbox.base_url).test_connection()
    assert ok and "Warning" not in message and "SANDBOX" in message


def test_a_wrong_db_is_named_and_fails_the_run_without_marking(erp, files, sandbox_with, monkeypatch):  # noqa: F811
    url, _ = erp
    sandbox = sandbox_with()
    ok, message = hook(monkeypatch, sandbox.base_url, db="NOPE").test_connection()
    assert not ok and "$db" in message and "duty" not in message and "secret" not in message

    connect(monkeypatch, url, sandbox.base_url)
    before = rows(url, "rambase_po_updates")
    dag_run = run("rambase_purchase_orders")
    assert str(dag_run.state).endswith("failed")
    after = rows(url, "rambase_po_updates")
    changed = after[after.attempts != before.attempts]
    assert changed.rambase_error.str.startswith("cannot build").all(), "only the unbuildable rows count an attempt"
    assert after.rambase_error_id.isna().all() and after.rambase_status.equals(before.rambase_status), \
        "a wrong $db is never recorded as the documents' refusal"


def test_a_wrong_secret_names_the_credentials(sandbox_with, monkeypatch):
    sandbox = sandbox_with()
    from erp_outbound.rambase.hook import RambaseHook

    connect_rambase(monkeypatch, sandbox.base_url, secret="wrong-secret-123")
    ok, message = RambaseHook().test_connection()
    assert not ok and "client id and secret" in message and "$db" not in message


def test_a_refused_host_is_named(monkeypatch):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    ok, message = hook(monkeypatch, f"http://127.0.0.1:{port}", max_tries=1).test_connection()
    assert not ok and f"host http://127.0.0.1:{port}" in message and "duty" not in message


def test_a_document_refused_for_its_db_stops_the_run():
    from erp_outbound.core.http import ConnectionConfigError, answer_of
    from erp_outbound.rambase.verdicts import order_update_verdict

    doc = {"doc_type": "PO_UPDATE", "document_id": "1", "identifier": "100001", "attempts": 0}
    body = {"message": "Unknown database", "errorMessage": {"errorMessageId": 100002}}
    with pytest.raises(ConnectionConfigError, match=r"\$db"):
        order_update_verdict(doc, answer_of(400, json.dumps(body), {"Content-Type": "application/json"}))
    duty = {"message": "Missing duty: Purchase order administrator", "parameters": [
        {"index": 0, "value": "Purchase order administrator"}]}
    verdict = order_update_verdict(doc, answer_of(403, json.dumps(duty), {"Content-Type": "application/json"}))
    assert verdict.outcome.value == "REJECTED"
    assert "'Purchase order administrator'" in verdict.message and "PUT procurement/orders/100001" in verdict.message
