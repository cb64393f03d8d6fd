"""Lost answers on every vendor endpoint that acts: the vendor acts, then its answer is lost.

``accept_then_drop`` cuts the connection after the emulator processed the request;
``accept_then_html`` answers a proxy's 502 HTML page instead of the emulator's answer.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
import requests

from erp_outbound_tools.sandbox import SandboxConfig, SandboxServer
from test_sandbox_procuros import AUTH, TOKEN, tx

TASK_ID = "11111111-2222-3333-4444-555555555555"
RAMBASE_CLIENT = {"grant_type": "client_credentials", "client_id": "sandbox-client", "client_secret": "sandbox-secret"}
GEP_AUTH = {"gep-auth-key": "sandbox-gep-key"}
ERROR_REPORT = {"errorReason": "GTIN 4000000000000 not found", "errorType": "DATA",
                "errorContext": {"documentId": "INV-1001"}, "transactionIdentifier": "INV-1001",
                "transactionType": "INVOICE"}
GEP_ITEM = {"key": "4800001234", "description": "Processed", "status": "Success", "sourceSystemName": "ERP",
            "sourceSystemValue": "PO", "lob": "Direct", "errorCode": None}


def rambase_token(base: str) -> str:
    return requests.post(f"{base}/oauth2/access_token", data=RAMBASE_CLIENT, timeout=10).json()["access_token"]


def gep_token(base: str) -> str:
    return requests.get(f"{base}/token/gep", headers=GEP_AUTH, timeout=10).json()["Token"]


# endpoint -> (the request, given the base URL; what the vendor remembers of it, from the record)
Call = Callable[[str], requests.Response]
ACTIONS: dict[str, tuple[Call, Callable[[dict], Any]]] = {
    "procuros.transactions": (
        lambda base: requests.post(f"{base}/v2/transactions", json=tx("ORDER"), headers=AUTH, timeout=10),
        lambda rec: rec["procuros"]["accepted"] == {"PO-1001": 1}),
    "procuros.errors": (
        lambda base: requests.post(f"{base}/v2/errors", json=ERROR_REPORT, headers=AUTH, timeout=10),
        lambda rec: rec["procuros"]["errors"] == [ERROR_REPORT]),
    "procuros.tasks.mark": (
        lambda base: requests.put(f"{base}/v2/tasks/{TASK_ID}", json={"success": True}, headers=AUTH, timeout=10),
        lambda rec: [m["procurosTaskId"] for m in rec["procuros"]["tasks_marked"]] == [TASK_ID]
        and rec["procuros"]["tasks_pending"] == []),
    "rambase.token": (
        lambda base: requests.post(f"{base}/oauth2/access_token", data=RAMBASE_CLIENT, timeout=10),
        lambda rec: rec["rambase"]["token_grants"] == 1),
    "rambase.orders": (
        lambda base: requests.put(f"{base}/procurement/orders/100001", params={"$db": "SANDBOX"},
                                  json={"purchaseOrder": {"note": "gate 3"}}, timeout=10,
                                  headers={"Authorization": f"Bearer {rambase_token(base)}"}),
        lambda rec: rec["rambase"]["orders"] == {"100001": {"note": "gate 3"}}),
    "rambase.operations": (
        lambda base: requests.post(
            f"{base}/procurement/order-responses/100001/api-operations/100860/instances",
            params={"$db": "SANDBOX"}, json={"parameters": {"supplierInvoiceId": 200001}}, timeout=10,
            headers={"Authorization": f"Bearer {rambase_token(base)}"}),
        lambda rec: rec["rambase"]["operation_posts"] == {"100001": 1}),
    "gep.token": (
        lambda base: requests.get(f"{base}/token/gep", headers=GEP_AUTH, timeout=10),
        lambda rec: rec["gep"]["token_grants"] == 1),
    "gep.status": (
        lambda base: requests.put(f"{base}/SmartInterfaceAPI/api/Order/PORStatus", json={"model": [GEP_ITEM]},
                                  headers={"Authorization": f"Bearer {gep_token(base)}"}, timeout=10),
        lambda rec: rec["gep"]["acknowledged"] == {"/SmartInterfaceAPI/api/Order/PORStatus": {"4800001234": 1}}),
}


@pytest.fixture
def sandbox():
    config = SandboxConfig.from_dict({"procuros": {"tokens": [TOKEN],
                                                   "tasks": [{"procurosTaskId": TASK_ID, "type": "EXPORT_CUSTOMERS"}]}})
    with SandboxServer(config) as server:
        # Each test's own token requests (not faulted) come first; the reset then zeroes the counts
        # (the tokens stay valid), so the counts above are exact.
        rambase_token(server.base_url)
        gep_token(server.base_url)
        server.reset()
        yield server


def record(sandbox: SandboxServer) -> dict:
    return requests.get(f"{sandbox.base_url}/_sandbox/record", timeout=10).json()


@pytest.mark.parametrize("endpoint", sorted(ACTIONS))
def test_the_vendor_acts_then_the_connection_drops(sandbox, endpoint):
    call, acted = ACTIONS[endpoint]
    sandbox.set_faults({endpoint: {"accept_then_drop": 1.0}})
    with pytest.raises(requests.ConnectionError):
        call(sandbox.base_url)
    rec = record(sandbox)
    assert acted(rec), rec
    assert rec["faults"][endpoint] == {"accept_then_drop": 1}
    assert rec["answers"][endpoint] == {"dropped": 1}


@pytest.mark.parametrize("endpoint", sorted(ACTIONS))
def test_the_vendor_acts_then_a_proxy_answers_an_html_page(sandbox, endpoint):
    call, acted = ACTIONS[endpoint]
    sandbox.set_faults({endpoint: {"accept_then_html": 1.0}})
    answer = call(sandbox.base_url)
    assert answer.status_code == 502
    assert answer.headers["Content-Type"].startswith("text/html")
    assert "<h1>502 Bad Gateway</h1>" in answer.text
    rec = record(sandbox)
    assert acted(rec), rec
    assert rec["answers"][endpoint] == {"502": 1}


def test_every_acting_endpoint_of_the_sandbox_is_covered(sandbox):
    """A new endpoint that acts must be added to ACTIONS (reads and polls change nothing)."""
    reads = {"procuros.ping", "procuros.tasks", "procuros.all_transactions", "rambase.orders_list",
             "rambase.operation_instances"}
    named = {route.name for route in sandbox.app.router.routes()
             if route.name and not route.name.startswith("_") and route.method != "GET"}
    assert named - reads - set(ACTIONS) == set()
