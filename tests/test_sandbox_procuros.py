"""Tests of the Procuros emulator of the sandbox, through HTTP with `requests`."""

from __future__ import annotations

import copy
import json
import random
import re
import subprocess
import sys
import time
import uuid

import pytest
import requests

from erp_outbound_tools.sandbox import SandboxConfig, SandboxServer
from erp_outbound_tools.sandbox.config import ProcurosConfig
from erp_outbound_tools.sandbox.credentials import DEMO

TOKEN = DEMO.procuros_token  # the default sandbox accepts the demo credentials
AUTH = {"Authorization": f"Bearer {TOKEN}"}
NOW = "2024-03-01T09:30:00Z"
GTIN = "4006381333931"


def party(gln: str, **extra) -> dict:
    return {"identifiers": [{"identifier": gln, "domain": "GS1"}], **extra}


BUYER = party(
    "4300000000001",
    name="ACME Retail",
    postalAddress={"street": "Hauptstr. 1", "city": "Berlin", "postalCode": "10115", "countryCode": "DE"},
)
SUPPLIER = party("4300000000002", name="Good Supplies GmbH")
ITEM_ID = [{"identifier": GTIN, "domain": "GS1"}]
INVOICE_ITEM = {
    "lineNumber": 1,
    "identifiers": ITEM_ID,
    "isDepositItem": False,
    "isInvoicedItem": True,
    "quantity": 10,
    "unitPrice": 1.5,
    "unitOfMeasure": "EA",
    "tax": {"amount": 1.05, "percentage": 7},
}

DOCUMENTS = {
    "ORDER": {
        "header": {
            "buyer": BUYER,
            "supplier": SUPPLIER,
            "shipTo": {"name": "Warehouse A"},  # shipTo may come without identifiers
            "orderIdentifier": "PO-1001",
            "orderDate": NOW,
            "requestedDeliveryDate": "2024-03-05T08:00:00+01:00",
            "currency": "EUR",
            "version": 1,
        },
        "items": [
            {
                "lineNumber": 1,
                "identifiers": ITEM_ID,
                "isDepositItem": False,
                "quantity": 10,
                "unitOfMeasure": "EA",
                "unitPrice": 1.5,
                "tax": {"amount": 1.05, "percentage": 7},
            }
        ],
    },
    "ORDER_RESPONSE": {
        "header": {
            "buyer": BUYER,
            "supplier": SUPPLIER,
            "type": "ACCEPT",
            "orderResponseIdentifier": "OR-1001",
            "orderResponseDate": NOW,
            "orderIdentifier": "PO-1001",
            "orderDate": NOW,
        },
        "items": [
            {
                "lineNumber": 1,
                "identifiers": ITEM_ID,
                "isDepositItem": False,
                "orderedQuantity": 10,
                "confirmedQuantity": 10,
                "unitOfMeasure": "EA",
            }
        ],
    },
    "SHIPPING_NOTICE": {
        "header": {
            "buyer": BUYER,
            "supplier": SUPPLIER,
            "shippingNoticeIdentifier": "SN-1001",
            "shippingNoticeDate": NOW,
            "orderIdentifier": "PO-1001",
            "despatchDate": NOW,
        },
        "transportUnits": [
            {
                "unitIdentifier": "340123450000000017",
                "unitType": "EURO_PALLET",
                "items": [
                    {
                        "lineNumber": 1,
                        "identifiers": ITEM_ID,
                        "isDepositItem": False,
                        "orderedQuantity": 10,
                        "shippedQuantity": 10,
                        # expirationDate is a Date, not a DateTime
                        "batches": [{"batchIdentifier": "B-1", "expirationDate": "2025-01-31", "quantity": 10}],
                    }
                ],
            }
        ],
    },
    "INVOICE": {
        "header": {
            "buyer": BUYER,
            "supplier": SUPPLIER,
            "invoiceIdentifier": "INV-1001",
            "invoiceDate": NOW,
            "shippingNoticeIdentifier": "SN-1001",
            "shippingNoticeDate": NOW,
            "orderIdentifier": "PO-1001",
            "orderDate": NOW,
            "currency": "EUR",
        },
        "items": [INVOICE_ITEM],
        "summary": {"netAmount": 15.0, "dueAmount": 16.05},
    },
    "CREDIT_NOTE": {
        "header": {
            "buyer": BUYER,
            "supplier": SUPPLIER,
            "creditNoteIdentifier": "CN-1001",
            "creditNoteDate": NOW,
            "type": "VALUE_CREDIT",
        },
        "items": [INVOICE_ITEM],
        "summary": {"dueAmount": 16.05},
    },
}


def tx(tx_type: str = "ORDER") -> dict:
    return {"type": tx_type, "content": copy.deepcopy(DOCUMENTS[tx_type])}


def post_tx(sandbox: SandboxServer, body, **kwargs) -> requests.Response:
    return requests.post(f"{sandbox.base_url}/v2/transactions", json=body, headers=AUTH, timeout=10, **kwargs)


def record(sandbox: SandboxServer) -> dict:
    return requests.get(f"{sandbox.base_url}/_sandbox/record", timeout=10).json()


@pytest.fixture
def make_sandbox():
    servers = []

    def make(**config) -> SandboxServer:
        procuros = config.pop("procuros", {})
        server = SandboxServer(SandboxConfig(procuros=ProcurosConfig(**procuros), **config)).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def sandbox(make_sandbox) -> SandboxServer:
    return make_sandbox()


def is_uuid(value: str) -> bool:
    return str(uuid.UUID(value)) == value


# --- auth and ping ---------------------------------------------------------------------


def test_ping_answers_204_without_body(sandbox):
    r = requests.get(f"{sandbox.base_url}/v2/ping", headers=AUTH, timeout=5)
    assert r.status_code == 204
    assert r.content == b""


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_missing_or_wrong_token_is_401(sandbox, headers):
    for method, path in [("get", "/v2/ping"), ("post", "/v2/transactions"), ("get", "/v2/tasks")]:
        r = requests.request(method, sandbox.base_url + path, headers=headers, json={}, timeout=5)
        assert r.status_code == 401
        assert r.json() == {"message": "Unauthenticated."}


def test_tokens_are_configurable(make_sandbox):
    sandbox = make_sandbox(procuros={"tokens": ["t1", "t2"]})
    assert requests.get(f"{sandbox.base_url}/v2/ping", headers={"Authorization": "Bearer t2"}).status_code == 204
    assert requests.get(f"{sandbox.base_url}/v2/ping", headers=AUTH).status_code == 401


def test_binds_loopback_only(sandbox):
    assert sandbox.base_url == f"http://127.0.0.1:{sandbox.port}"
    assert [address[0] for address in sandbox._runner.addresses] == ["127.0.0.1"]


# --- transactions: happy paths and duplicates ------------------------------------------


@pytest.mark.parametrize("tx_type", sorted(DOCUMENTS))
def test_valid_documents_are_created(sandbox, tx_type):
    r = post_tx(sandbox, tx(tx_type))
    assert r.status_code == 201, r.text
    assert set(r.json()) == {"procurosTransactionId"}
    assert is_uuid(r.json()["procurosTransactionId"])


@pytest.mark.parametrize("tx_type", sorted(DOCUMENTS))
def test_valid_documents_pass_the_published_spec(make_sandbox, procuros_spec, tx_type):
    sandbox = make_sandbox(procuros={"spec_path": str(procuros_spec.path)})
    r = post_tx(sandbox, tx(tx_type))
    assert r.status_code == 201, r.text


def test_spec_validation_adds_errors_the_rules_do_not_check(make_sandbox, procuros_spec):
    sandbox = make_sandbox(procuros={"spec_path": str(procuros_spec.path)})
    body = tx("ORDER")
    body["content"]["summary"] = {"dueAmount": 10}  # the spec requires grossAmount etc. in an order summary
    r = post_tx(sandbox, body)
    assert r.status_code == 422
    assert "content.summary.grossAmount" in r.json()["errors"]
    # without the spec the emulator's own rules accept it
    assert post_tx(make_sandbox(procuros={"validate_against_spec": False}), body).status_code == 201


def test_the_sandbox_validates_against_the_packaged_spec_by_default(make_sandbox):
    body = tx("ORDER")
    body["content"]["summary"] = {"dueAmount": 10}
    r = post_tx(make_sandbox(), body)
    assert r.status_code == 422 and "content.summary.grossAmount" in r.json()["errors"]


def test_the_spec_validation_switch_comes_from_the_environment_and_the_command_line():
    assert SandboxConfig().procuros.validate_against_spec is True
    config = SandboxConfig().with_env({"ERP_OUTBOUND_SANDBOX_PROCUROS_VALIDATE": "false"})
    assert config.procuros.validate_against_spec is False
    done = subprocess.run([sys.executable, "-m", "erp_outbound.cli", "sandbox", "--help"], capture_output=True,
                          text=True, check=True)
    assert "--no-spec-validation" in done.stdout


def test_the_sandbox_refuses_what_the_runtime_spec_validator_finds(make_sandbox, procuros_spec):
    """One validator of the spec: the sandbox's 422 names the fields the runtime's ProcurosSpec names."""
    sandbox = make_sandbox(procuros={"spec_path": str(procuros_spec.path)})
    body = tx("INVOICE")
    body["content"]["summary"] = {"dueAmount": "ten"}
    found = {line.split(":", 1)[0] for line in procuros_spec.errors("SentInvoiceTransaction", body)
             if not line.endswith("unknown property")}
    r = post_tx(sandbox, body)
    assert r.status_code == 422
    assert found and found <= set(r.json()["errors"]) | {p.rsplit(".", 1)[0] for p in r.json()["errors"]}


def test_identical_resend_of_accepted_document_is_400(sandbox):
    body = tx("ORDER")
    first = post_tx(sandbox, body)
    assert first.status_code == 201
    # key order must not matter: the body is compared in canonical form
    reordered = json.loads(json.dumps(body, sort_keys=True))
    second = post_tx(sandbox, {"content": reordered["content"], "type": "ORDER"})
    assert second.status_code == 400
    assert second.json() == {"message": "Payload already received"}

    rec = record(sandbox)["procuros"]
    assert [t["status_code"] for t in rec["transactions"]] == [201, 400]
    assert rec["accepted"] == {"PO-1001": 1}
    assert rec["accepted_by_type"] == {"ORDER": {"PO-1001": 1}}
    entry = rec["transactions"][0]
    assert entry["type"] == "ORDER" and entry["identifier"] == "PO-1001" and entry["version"] == 1
    assert entry["procurosTransactionId"] == first.json()["procurosTransactionId"]
    assert re.fullmatch(r"[0-9a-f]{64}", entry["body_hash"])
    assert entry["body_hash"] == rec["transactions"][1]["body_hash"]


def test_new_version_or_changed_body_is_accepted_again(sandbox):
    body = tx("INVOICE")
    assert post_tx(sandbox, body).status_code == 201
    body["content"]["header"]["version"] = 2
    assert post_tx(sandbox, body).status_code == 201
    body["content"]["summary"]["dueAmount"] = 17.0
    assert post_tx(sandbox, body).status_code == 201
    assert record(sandbox)["procuros"]["accepted"] == {"INV-1001": 3}


def test_rejected_document_is_processed_normally_when_sent_again(sandbox):
    body = tx("ORDER")
    body["content"]["header"]["orderDate"] = "2024-03-01"
    assert post_tx(sandbox, body).status_code == 422
    assert post_tx(sandbox, body).status_code == 422  # still invalid, not a "duplicate"
    body["content"]["header"]["orderDate"] = NOW
    assert post_tx(sandbox, body).status_code == 201


# --- transactions: validation ----------------------------------------------------------


def assert_invalid(r: requests.Response, *fields: str) -> dict:
    assert r.status_code == 422, r.text
    data = r.json()
    assert data["message"] == "The given data was invalid."
    for field in fields:
        assert field in data["errors"], (field, data["errors"])
        assert data["errors"][field] and all(isinstance(m, str) for m in data["errors"][field])
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/portal/errors/[0-9a-f-]{36}", data["errorUrl"])
    return data


def test_missing_party_identifiers_is_422_with_error_url_that_opens(sandbox):
    body = tx("ORDER")
    body["content"]["header"]["buyer"] = {"name": "No ids"}
    data = assert_invalid(post_tx(sandbox, body), "content.header.buyer.identifiers")
    page = requests.get(data["errorUrl"], timeout=5)  # no auth needed
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "content.header.buyer.identifiers" in page.text


def test_type_and_content_are_required(sandbox):
    assert_invalid(post_tx(sandbox, {"type": "PURCHASE_ORDER", "content": {"header": {}}}), "type")
    assert_invalid(post_tx(sandbox, {}), "type", "content")
    r = requests.post(f"{sandbox.base_url}/v2/transactions", data=b"{not json", headers=AUTH, timeout=5)
    assert_invalid(r, "type", "content")


@pytest.mark.parametrize(
    ("tx_type", "missing"),
    [
        ("ORDER", ["buyer", "supplier", "orderIdentifier", "orderDate"]),
        ("ORDER_RESPONSE", ["buyer", "supplier", "orderResponseIdentifier", "orderResponseDate", "orderIdentifier"]),
        ("SHIPPING_NOTICE", ["buyer", "supplier", "shippingNoticeIdentifier", "shippingNoticeDate", "orderIdentifier"]),
        (
            "INVOICE",
            ["buyer", "supplier", "invoiceIdentifier", "invoiceDate", "shippingNoticeIdentifier",
             "shippingNoticeDate", "orderIdentifier", "orderDate"],
        ),
        ("CREDIT_NOTE", ["buyer", "supplier", "creditNoteIdentifier", "creditNoteDate"]),
    ],
)
def test_required_header_fields(sandbox, tx_type, missing):
    body = tx(tx_type)
    for name in missing:
        del body["content"]["header"][name]
    assert_invalid(post_tx(sandbox, body), *[f"content.header.{name}" for name in missing])


def test_order_needs_items(sandbox):
    body = tx("ORDER")
    body["content"]["items"] = []
    assert_invalid(post_tx(sandbox, body), "content.items")


def test_shipping_notice_needs_transport_units_with_items(sandbox):
    body = tx("SHIPPING_NOTICE")
    body["content"]["transportUnits"] = []
    assert_invalid(post_tx(sandbox, body), "content.transportUnits")
    body["content"]["transportUnits"] = [{"unitType": "CARTON"}]
    assert_invalid(post_tx(sandbox, body), "content.transportUnits.0.items")


def test_invoice_item_fields_and_tax(sandbox):
    body = tx("INVOICE")
    item = body["content"]["items"][0]
    del item["isInvoicedItem"], item["unitPrice"]
    item["tax"] = {"percentage": 7}
    item["quantity"] = "10"
    assert_invalid(
        post_tx(sandbox, body),
        "content.items.0.isInvoicedItem",
        "content.items.0.unitPrice",
        "content.items.0.tax.amount",
        "content.items.0.quantity",
    )


def test_credit_note_needs_summary_with_due_amount(sandbox):
    body = tx("CREDIT_NOTE")
    del body["content"]["summary"]
    assert_invalid(post_tx(sandbox, body), "content.summary")
    body["content"]["summary"] = {"netAmount": 1}
    assert_invalid(post_tx(sandbox, body), "content.summary.dueAmount")


def test_format_checks(sandbox):
    body = tx("ORDER")
    header = body["content"]["header"]
    header["orderDate"] = "2024-03-01T09:30:00"  # no UTC offset
    header["requestedDeliveryDate"] = "2024-03-01"
    header["currency"] = "eur"
    header["buyer"]["postalAddress"]["countryCode"] = "DEU"
    header["supplier"]["identifiers"][0]["domain"] = "GLN"
    item = body["content"]["items"][0]
    item["unitOfMeasure"] = "PCS"
    item["identifiers"] = [{"identifier": "123456789", "domain": "GS1"}]
    assert_invalid(
        post_tx(sandbox, body),
        "content.header.orderDate",
        "content.header.requestedDeliveryDate",
        "content.header.currency",
        "content.header.buyer.postalAddress.countryCode",
        "content.header.supplier.identifiers.0.domain",
        "content.items.0.unitOfMeasure",
        "content.items.0.identifiers.0.identifier",
    )


@pytest.mark.parametrize(
    "value", ["2024-03-01T09:30:00Z", "2024-03-01T09:30:00+01:00", "2024-03-01T09:30:00.123456Z"]
)
def test_datetimes_with_offset_pass(sandbox, value):
    body = tx("ORDER")
    body["content"]["header"]["orderDate"] = value
    assert post_tx(sandbox, body).status_code == 201


@pytest.mark.parametrize("gtin", ["12345670", "123456789012", "4006381333931", "14006381333938"])
def test_gtin_lengths_pass(sandbox, gtin):
    body = tx("ORDER")
    identifiers = [{"identifier": gtin, "domain": "GS1"}, {"identifier": "X-1", "domain": "BUYER"}]
    body["content"]["items"][0]["identifiers"] = identifiers
    assert post_tx(sandbox, body).status_code == 201


# --- transactions: receiver resolution ---------------------------------------------------


def test_unknown_receiver_is_422_on_receiver_field(sandbox):
    order = tx("ORDER")  # receiver of an order is the supplier
    order["content"]["header"]["supplier"] = party("4098000000001")
    data = assert_invalid(post_tx(sandbox, order), "content.header.supplier")
    assert data["errors"] == {"content.header.supplier": ["Could not resolve party using provided identifiers"]}

    invoice = tx("INVOICE")  # receiver of the other types is the buyer
    invoice["content"]["header"]["buyer"] = party("4098000000001")
    data = assert_invalid(post_tx(sandbox, invoice), "content.header.buyer")
    # an unknown buyer on an order does not matter
    order = tx("ORDER")
    order["content"]["header"]["buyer"] = party("4098000000001")
    assert post_tx(sandbox, order).status_code == 201
    # a rejected document was not accepted: sending it again is not a duplicate
    assert post_tx(sandbox, invoice).status_code == 422


def test_inactive_receiver_is_202(sandbox):
    body = tx("SHIPPING_NOTICE")
    body["content"]["header"]["buyer"] = party("4099000000001")
    r = post_tx(sandbox, body)
    assert r.status_code == 202
    assert r.json()["message"] == "Trade relationship not yet active."
    assert is_uuid(r.json()["procurosTransactionId"])
    assert record(sandbox)["procuros"]["accepted"] == {"SN-1001": 1}
    assert post_tx(sandbox, body).status_code == 400  # accepted, so a re-send is a duplicate


def test_gln_prefixes_are_configurable(make_sandbox):
    sandbox = make_sandbox(procuros={"unknown_gln_prefixes": ["43000000000"], "inactive_gln_prefixes": []})
    assert_invalid(post_tx(sandbox, tx("ORDER")), "content.header.supplier")


# --- errors ------------------------------------------------------------------------------


def test_report_error(sandbox):
    report = {
        "errorReason": "The GTIN/EAN 4000000000000 couldn't be found",
        "errorType": "DATA",
        "errorContext": {"documentId": "INV-1001", "line": "3"},
        "transactionIdentifier": "INV-1001",
        "transactionType": "INVOICE",
    }
    r = requests.post(f"{sandbox.base_url}/v2/errors", json=report, headers=AUTH, timeout=5)
    assert r.status_code == 201
    data = r.json()
    assert data["message"] == "OK."
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/portal/errors/[0-9a-f-]{36}", data["errorUrl"])
    assert requests.get(data["errorUrl"], timeout=5).status_code == 200
    rec = record(sandbox)["procuros"]
    assert rec["errors"] == [report]
    assert rec["error_urls"] == [data["errorUrl"]]


def test_report_error_validation(sandbox):
    url = f"{sandbox.base_url}/v2/errors"
    r = requests.post(url, json={"errorType": "OTHER", "errorContext": {"line": 3}}, headers=AUTH, timeout=5)
    assert r.status_code == 422
    data = r.json()
    assert data["message"] == "The given data was invalid."
    assert set(data["errors"]) == {"errorReason", "errorType", "errorContext.line"}
    ok = requests.post(url, json={"errorReason": "boom", "errorType": "INTERNAL"}, headers=AUTH, timeout=5)
    assert ok.status_code == 201
    assert len(record(sandbox)["procuros"]["errors"]) == 1


# --- tasks -------------------------------------------------------------------------------


SEED_TASKS = [
    {"procurosTaskId": "949b2f25-fd9d-4c58-8899-b4dc277f8cf9", "type": "EXPORT_CUSTOMERS"},
    {"type": "EXPORT_SUPPLIERS"},
    {"type": "SYNC_ENABLED_TRADE_PARTNERS", "payload": {"customers": ["KU-1092"], "suppliers": []}},
]


def test_tasks_pagination_with_cursor(make_sandbox):
    sandbox = make_sandbox(procuros={"tasks": SEED_TASKS})
    r = requests.get(f"{sandbox.base_url}/v2/tasks", params={"per_page": 2}, headers=AUTH, timeout=5)
    assert r.status_code == 200
    page = r.json()
    assert page["perPage"] == 2 and page["count"] == 2 and page["hasMore"] is True
    first = page["items"][0]
    assert first["procurosTaskId"] == "949b2f25-fd9d-4c58-8899-b4dc277f8cf9"
    assert first["type"] == "EXPORT_CUSTOMERS" and "payload" not in first
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}", first["createdAt"])
    assert is_uuid(page["items"][1]["procurosTaskId"])

    page2 = requests.get(page["nextPageUrl"], headers=AUTH, timeout=5).json()
    assert page2["count"] == 1 and page2["hasMore"] is False
    assert page2["nextCursor"] is None and page2["nextPageUrl"] is None
    assert page2["items"][0]["payload"] == {"customers": ["KU-1092"], "suppliers": []}
    same = requests.get(
        f"{sandbox.base_url}/v2/tasks", params={"per_page": 2, "cursor": page["nextCursor"]}, headers=AUTH
    ).json()
    assert same["items"] == page2["items"]

    default = requests.get(f"{sandbox.base_url}/v2/tasks", headers=AUTH, timeout=5).json()
    assert default["perPage"] == 15 and default["count"] == 3


@pytest.mark.parametrize("params", [{"per_page": 0}, {"per_page": 101}, {"per_page": "x"}, {"cursor": "%%%"}])
def test_tasks_invalid_query_is_422(sandbox, params):
    r = requests.get(f"{sandbox.base_url}/v2/tasks", params=params, headers=AUTH, timeout=5)
    assert r.status_code == 422
    assert r.json()["message"] == "The given data was invalid."


def test_mark_task_processed(make_sandbox):
    sandbox = make_sandbox(procuros={"tasks": SEED_TASKS})
    task_id = SEED_TASKS[0]["procurosTaskId"]
    result = [{"systemIdentifier": "KU-1092", "isEnabled": False, "mainParty": party("4300000000001", name="ACME")}]
    url = f"{sandbox.base_url}/v2/tasks/{task_id}"
    assert requests.put(url, json={"result": result}, headers=AUTH, timeout=5).status_code == 422
    r = requests.put(url, json={"success": True, "result": result}, headers=AUTH, timeout=5)
    assert r.status_code == 200
    assert r.json() == {"message": "OK."}

    listed = requests.get(f"{sandbox.base_url}/v2/tasks", headers=AUTH, timeout=5).json()
    assert task_id not in [t["procurosTaskId"] for t in listed["items"]]
    assert listed["count"] == 2

    missing = requests.put(f"{sandbox.base_url}/v2/tasks/nope", json={"success": True}, headers=AUTH, timeout=5)
    assert missing.status_code == 404
    assert missing.json() == {"message": "Not found."}

    marks = record(sandbox)["procuros"]["tasks_marked"]
    assert [(m["procurosTaskId"], m["success"], m["result"]) for m in marks] == [(task_id, True, result)]


def test_marking_does_not_shift_the_next_page(make_sandbox):
    sandbox = make_sandbox(procuros={"tasks": [{"type": "EXPORT_CUSTOMERS"} for _ in range(5)]})
    page = requests.get(f"{sandbox.base_url}/v2/tasks?per_page=2", headers=AUTH).json()
    for task in page["items"]:
        requests.put(f"{sandbox.base_url}/v2/tasks/{task['procurosTaskId']}", json={"success": True}, headers=AUTH)
    page2 = requests.get(page["nextPageUrl"], headers=AUTH).json()
    assert page2["count"] == 2 and page2["hasMore"] is True


# --- control routes ------------------------------------------------------------------------


def test_control_routes(sandbox):
    base = sandbox.base_url
    assert requests.get(f"{base}/_sandbox/health", timeout=5).status_code == 200
    added = requests.post(f"{base}/_sandbox/tasks", json=[{"type": "EXPORT_CUSTOMERS"}], timeout=5)
    assert added.status_code == 201
    task_id = added.json()["added"][0]
    assert requests.get(f"{base}/v2/tasks", headers=AUTH).json()["items"][0]["procurosTaskId"] == task_id
    assert requests.post(f"{base}/_sandbox/tasks", json=[{"payload": {}}], timeout=5).status_code == 400

    assert post_tx(sandbox, tx("ORDER")).status_code == 201
    rec = record(sandbox)
    assert rec["requests"] == {"procuros.tasks": 1, "procuros.transactions": 1}
    assert rec["procuros"]["tasks_pending"] == [task_id]

    assert requests.post(f"{base}/_sandbox/reset", timeout=5).status_code == 200
    rec = record(sandbox)
    assert rec["requests"] == {} and rec["faults"] == {}
    assert rec["procuros"]["transactions"] == [] and rec["procuros"]["accepted"] == {}
    assert rec["procuros"]["tasks_pending"] == []  # back to the configured seed tasks (none)
    assert post_tx(sandbox, tx("ORDER")).status_code == 201  # duplicate memory is cleared too
    assert sandbox.snapshot()["procuros"]["accepted"] == {"PO-1001": 1}


# --- latency and faults --------------------------------------------------------------------


def faulty(make_sandbox, kind: str, endpoint: str = "procuros.transactions", **config) -> SandboxServer:
    return make_sandbox(faults={endpoint: {kind: 1.0}}, **config)


@pytest.mark.parametrize(
    ("kind", "status"), [("error_500", 500), ("error_502", 502), ("error_503", 503), ("rate_limit_no_header", 429)]
)
def test_error_faults(make_sandbox, kind, status):
    sandbox = faulty(make_sandbox, kind)
    r = post_tx(sandbox, tx("ORDER"))
    assert r.status_code == status
    assert "message" in r.json()
    assert "Retry-After" not in r.headers
    rec = record(sandbox)
    assert rec["faults"] == {"procuros.transactions": {kind: 1}}
    assert rec["fault_totals"] == {kind: 1}
    assert rec["procuros"]["transactions"] == []  # not processed


def test_rate_limit_with_retry_after(make_sandbox):
    sandbox = faulty(make_sandbox, "rate_limit", retry_after_s=7)
    r = post_tx(sandbox, tx("ORDER"))
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "7"


def test_html_error(make_sandbox):
    sandbox = faulty(make_sandbox, "html_error")
    r = post_tx(sandbox, tx("ORDER"))
    assert r.status_code == 502
    assert r.headers["Content-Type"].startswith("text/html")
    with pytest.raises(ValueError):
        r.json()


def test_reset_aborts_the_connection_before_processing(make_sandbox):
    sandbox = faulty(make_sandbox, "reset")
    with requests.Session() as session:
        with pytest.raises(requests.ConnectionError):
            session.post(f"{sandbox.base_url}/v2/transactions", json=tx("ORDER"), headers=AUTH, timeout=5)
    rec = record(sandbox)
    assert rec["faults"]["procuros.transactions"] == {"reset": 1}
    assert rec["procuros"]["transactions"] == [] and rec["procuros"]["accepted"] == {}


def test_accept_then_drop_processes_then_aborts_and_retry_is_duplicate(make_sandbox):
    # One RNG draw per request: pick a seed that drops the first request and not the second.
    seed = next(s for s in range(1000) if (rng := random.Random(s)).random() < 0.5 <= rng.random())
    sandbox = make_sandbox(faults={"procuros.transactions": {"accept_then_drop": 0.5}}, seed=seed)
    with pytest.raises(requests.ConnectionError):
        post_tx(sandbox, tx("ORDER"))
    retry = post_tx(sandbox, tx("ORDER"))
    assert retry.status_code == 400
    assert retry.json() == {"message": "Payload already received"}
    rec = record(sandbox)
    assert rec["faults"] == {"procuros.transactions": {"accept_then_drop": 1}}
    assert rec["procuros"]["accepted"] == {"PO-1001": 1}
    assert [(t["status_code"], t["fault"]) for t in rec["procuros"]["transactions"]] == [
        (201, "accept_then_drop"),
        (400, None),
    ]


def test_garbled_200_answers(make_sandbox):
    faults = {"procuros.transactions": {"truncated_json": 1.0}, "procuros.ping": {"empty_200": 1.0}}
    sandbox = make_sandbox(faults=faults)
    r = post_tx(sandbox, tx("ORDER"))
    assert r.status_code == 200
    assert r.text == '{"procurosTransactio'
    with pytest.raises(ValueError):
        r.json()
    assert record(sandbox)["procuros"]["accepted"] == {"PO-1001": 1}  # processed, answer garbled
    ping = requests.get(f"{sandbox.base_url}/v2/ping", headers=AUTH, timeout=5)
    assert ping.status_code == 200 and ping.content == b""


def test_slow_fault_exceeds_client_timeout(make_sandbox):
    sandbox = faulty(make_sandbox, "slow", endpoint="procuros.ping", slow_s=1.0)
    # The answer leaves a second after the request came: the client's 0.3 s are up first, however busy the machine.
    with pytest.raises(requests.Timeout):
        requests.get(f"{sandbox.base_url}/v2/ping", headers=AUTH, timeout=0.3)
    assert record(sandbox)["faults"] == {"procuros.ping": {"slow": 1}}


def test_faults_never_hit_control_or_portal_routes(make_sandbox):
    sandbox = faulty(make_sandbox, "error_500", endpoint="*")
    assert requests.get(f"{sandbox.base_url}/v2/ping", headers=AUTH).status_code == 500
    assert requests.get(f"{sandbox.base_url}/_sandbox/health").status_code == 200
    assert requests.get(f"{sandbox.base_url}/portal/errors/{uuid.uuid4()}").status_code == 200
    assert record(sandbox)["requests"] == {"procuros.ping": 1}


def test_fault_table_lookup_is_most_specific_first(make_sandbox):
    sandbox = make_sandbox(faults={"*": {"error_500": 1.0}, "procuros.*": {"error_503": 1.0}, "procuros.ping": {}})
    assert requests.get(f"{sandbox.base_url}/v2/ping", headers=AUTH).status_code == 204
    assert post_tx(sandbox, tx("ORDER")).status_code == 503


def outcome_sequence(sandbox: SandboxServer, n: int = 40) -> list:
    out = []
    with requests.Session() as session:
        for _ in range(n):
            try:
                out.append(session.get(f"{sandbox.base_url}/v2/ping", headers=AUTH, timeout=5).status_code)
            except requests.ConnectionError:
                out.append("reset")
    return out


def test_faults_are_reproducible_with_a_seed(make_sandbox):
    faults = {"procuros.ping": {"error_500": 0.2, "rate_limit": 0.2, "reset": 0.1}}
    a = outcome_sequence(make_sandbox(faults=faults, seed=42))
    b_server = make_sandbox(faults=faults, seed=42)
    b = outcome_sequence(b_server)
    assert a == b
    assert {500, 429, 204, "reset"} <= set(a)
    requests.post(f"{b_server.base_url}/_sandbox/reset")  # reset reseeds as well
    assert outcome_sequence(b_server) == a
    assert outcome_sequence(make_sandbox(faults=faults, seed=7)) != a


def test_latency_is_added_to_api_answers_only(make_sandbox):
    sandbox = make_sandbox(latency_ms=150)
    started = time.monotonic()
    assert requests.get(f"{sandbox.base_url}/v2/ping", headers=AUTH).status_code == 204
    assert time.monotonic() - started >= 0.15
    # A minute of latency: an API answer times out, a control route answers (a minute would time it out too).
    slow = make_sandbox(latency_ms=60_000)
    with pytest.raises(requests.Timeout):
        requests.get(f"{slow.base_url}/v2/ping", headers=AUTH, timeout=1)
    assert requests.get(f"{slow.base_url}/_sandbox/health", timeout=10).status_code == 200


# --- configuration -------------------------------------------------------------------------


def test_config_from_file_and_env(tmp_path):
    path = tmp_path / "sandbox.json"
    path.write_text(
        json.dumps(
            {
                "seed": 5,
                "latency_ms": 10,
                "faults": {"procuros.transactions": {"reset": 0.1}},
                "procuros": {"tokens": ["abc"], "tasks": [{"type": "EXPORT_CUSTOMERS"}]},
            }
        )
    )
    config = SandboxConfig.from_file(path)
    assert config.seed == 5 and config.procuros.tokens == ["abc"] and config.procuros.unknown_gln_prefixes == ["4098"]

    env = {
        "ERP_OUTBOUND_SANDBOX_CONFIG": str(path),
        "ERP_OUTBOUND_SANDBOX_LATENCY_MS": "20",
        "ERP_OUTBOUND_SANDBOX_FAULTS": '{"*": {"error_503": 0.5}}',
        "ERP_OUTBOUND_SANDBOX_SEED": "9",
    }
    config = SandboxConfig.load(env=env)
    assert config.latency_ms == 20 and config.seed == 9
    assert config.faults == {"*": {"error_503": 0.5}}
    assert config.procuros.tasks == [{"type": "EXPORT_CUSTOMERS"}]
    assert SandboxConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    "data",
    [
        {"faults": {"*": {"explode": 0.1}}},
        {"faults": {"*": {"error_500": 0.7, "reset": 0.5}}},
        {"faults": {"*": {"error_500": 2}}},
        {"latency": 5},
        {"procuros": {"token": ["x"]}},
    ],
)
def test_invalid_config_is_rejected(data):
    with pytest.raises(ValueError):
        SandboxConfig.from_dict(data)
