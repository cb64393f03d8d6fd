"""Tests of the RamBase emulator of the sandbox, through HTTP with `requests`."""

from __future__ import annotations

import json
import random
import time

import pytest
import requests

from erp_outbound_tools.sandbox import RambaseConfig, SandboxConfig, SandboxServer

CLIENT = {"client_id": "sandbox-client", "client_secret": "sandbox-secret"}
USER = {"username": "sandbox-user", "password": "sandbox-password"}
QUERY = {"$db": "SANDBOX", "$format": "json"}
OPERATION = "/procurement/order-responses/{}/api-operations/100860/instances"
FULL_ORDER = {
    "suppliersReference": "Jane Doe",
    "suppliersReferenceNumber": "SO-4711",
    "currency": "EUR",
    "note": "Deliver to gate 3",
    "shipToAttention": "Goods receipt",
    "location": {"locationId": 10000},
    "assignee": {"userId": 100},
    "supplier": {"supplierId": 100},
    "shipFrom": {"addressId": 1},
    "shipment": {"deliveryTerms": "DAP", "deliveryTermPlace": "Oslo", "shippingService": {"shippingServiceId": 100000}},
    "payment": {"paymentTerms": "NET30"},
}


def grant(sandbox: SandboxServer, **form) -> requests.Response:
    return requests.post(f"{sandbox.base_url}/oauth2/access_token", data=form, timeout=5)


def new_token(sandbox: SandboxServer) -> str:
    r = grant(sandbox, grant_type="client_credentials", **CLIENT)
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


class Api:
    """A well-behaved RamBase client: bearer header, $db and $format on every call."""

    def __init__(self, sandbox: SandboxServer, token: str | None = None) -> None:
        self.sandbox = sandbox
        self.token = token or new_token(sandbox)

    def call(self, method: str, path: str, params=None, headers=None, **kwargs) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if headers is None else headers
        params = QUERY if params is None else params
        return requests.request(
            method, self.sandbox.base_url + path, params=params, headers=headers, timeout=5, **kwargs
        )

    def put_order(self, order_id, body, **kwargs) -> requests.Response:
        return self.call("put", f"/procurement/orders/{order_id}", json=body, **kwargs)

    def start(self, response_id, invoice_id=200001, **kwargs) -> requests.Response:
        body = {"parameters": {"supplierInvoiceId": invoice_id}}
        return self.call("post", OPERATION.format(response_id), json=body, **kwargs)

    def poll(self, instance_id, **kwargs) -> requests.Response:
        return self.call("get", f"/system/api/operation-instances/{instance_id}", **kwargs)


def rambase_record(sandbox: SandboxServer) -> dict:
    return requests.get(f"{sandbox.base_url}/_sandbox/record", timeout=5).json()["rambase"]


def unwrap(body: dict) -> dict:
    """Error bodies come bare or wrapped in {"error": {...}}; clients must accept both."""
    return body["error"] if isinstance(body.get("error"), dict) else body


def assert_error(r: requests.Response, status: int, error_id: int, message: str, params=None) -> dict:
    assert r.status_code == status, r.text
    error = unwrap(r.json())
    assert error["httpStatusCode"] == status
    assert error["message"] == error["translatedMessage"] == message
    assert error["errorMessage"]["errorMessageId"] == error_id
    if params is not None:
        assert error["parameters"] == [{"index": i, "value": v} for i, v in enumerate(params)]
    return error


@pytest.fixture
def sandbox(sandbox_with) -> SandboxServer:
    return sandbox_with()


@pytest.fixture
def api(sandbox) -> Api:
    return Api(sandbox)


# --- OAuth2 token endpoint -------------------------------------------------------------


def test_client_credentials_grant(sandbox):
    r = grant(sandbox, grant_type="client_credentials", target="SANDBOX", **CLIENT)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "refresh_token", "expires_in", "token_type"}
    assert body["expires_in"] == 3600 and body["token_type"] == "Bearer"
    assert body["access_token"] != body["refresh_token"]
    assert body["access_token"] != grant(sandbox, grant_type="client_credentials", **CLIENT).json()["access_token"]
    assert Api(sandbox, body["access_token"]).put_order(100000, {}).status_code == 200
    rec = rambase_record(sandbox)
    assert rec["token_grants"] == 2 and rec["token_grant_types"] == {"client_credentials": 2}


def test_password_grant(sandbox):
    r = grant(sandbox, grant_type="password", **CLIENT, **USER)
    assert r.status_code == 200
    assert Api(sandbox, r.json()["access_token"]).put_order(100000, {}).status_code == 200
    assert rambase_record(sandbox)["token_grant_types"] == {"password": 1}


def test_refresh_token_grant_is_single_use(sandbox):
    refresh = grant(sandbox, grant_type="password", **CLIENT, **USER).json()["refresh_token"]
    r = grant(sandbox, grant_type="refresh_token", refresh_token=refresh, **CLIENT)
    assert r.status_code == 200
    assert Api(sandbox, r.json()["access_token"]).put_order(100000, {}).status_code == 200
    again = grant(sandbox, grant_type="refresh_token", refresh_token=refresh, **CLIENT)
    assert again.status_code == 401 and again.json()["error"] == "invalid_grant"


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"grant_type": "client_credentials", "client_id": "sandbox-client", "client_secret": "nope"}, 401,
         "invalid_client"),
        ({"grant_type": "client_credentials", "client_id": "other", "client_secret": "sandbox-secret"}, 401,
         "invalid_client"),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
        ({"grant_type": "password", **CLIENT, "username": "sandbox-user", "password": "nope"}, 401, "invalid_grant"),
        ({"grant_type": "password", **USER}, 401, "invalid_client"),
        ({"grant_type": "authorization_code", **CLIENT}, 400, "unsupported_grant_type"),
        (CLIENT, 400, "invalid_request"),
    ],
)
def test_bad_token_requests(sandbox, form, status, error):
    r = grant(sandbox, **form)
    assert r.status_code == status
    assert r.json()["error"] == error
    assert rambase_record(sandbox)["token_grants"] == 0


def test_token_request_must_be_form_encoded(sandbox):
    body = {"grant_type": "client_credentials", **CLIENT}
    r = requests.post(f"{sandbox.base_url}/oauth2/access_token", json=body, timeout=5)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_credentials_and_ttl_are_configurable(sandbox_with):
    sandbox = sandbox_with(rambase={"client_id": "c", "client_secret": "s", "token_ttl_s": 60})
    assert grant(sandbox, grant_type="client_credentials", **CLIENT).status_code == 401
    r = grant(sandbox, grant_type="client_credentials", client_id="c", client_secret="s")
    assert r.status_code == 200 and r.json()["expires_in"] == 60


# --- authorization and query parameters of API calls ------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}])
def test_api_calls_need_a_valid_bearer_token(api, headers):
    for r in (api.put_order(100000, {}, headers=headers), api.start(100000, headers=headers),
              api.poll(400001, headers=headers)):
        assert_error(r, 401, 100001, "Invalid or expired access token")
        assert r.json()["httpStatusDescription"] == "Unauthorized"
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
    rec = rambase_record(api.sandbox)
    assert rec["unauthorized"] == 3
    assert rec["operation_posts"] == {} and rec["orders"] == {}
    assert [(p["id"], p["status_code"]) for p in rec["order_puts"]] == [(100000, 401)]  # rejected PUTs are recorded


def test_token_expires_after_ttl(sandbox_with, sandbox_clock):
    api = Api(sandbox_with(rambase={"token_ttl_s": 0.3}))
    assert api.put_order(100000, {}).status_code == 200
    sandbox_clock.advance(0.29)
    assert api.put_order(100000, {}).status_code == 200
    sandbox_clock.advance(0.02)
    assert api.put_order(100000, {}).status_code == 401
    api.token = new_token(api.sandbox)  # what a client does on 401
    assert api.put_order(100000, {}).status_code == 200


def test_token_is_revoked_after_n_requests(sandbox_with):
    api = Api(sandbox_with(rambase={"revoke_after_requests": 2}))
    assert [api.put_order(100000, {}).status_code for _ in range(3)] == [200, 200, 401]
    api.token = new_token(api.sandbox)
    assert [api.put_order(100000, {}).status_code for _ in range(3)] == [200, 200, 401]
    rec = rambase_record(api.sandbox)
    assert rec["token_grants"] == 2 and rec["unauthorized"] == 2


def test_access_token_in_query_works_but_is_recorded(api):
    assert rambase_record(api.sandbox)["access_token_in_query"] == 0
    params = {**QUERY, "$access_token": api.token}
    assert api.put_order(100000, {}, headers={}, params=params).status_code == 200
    assert api.put_order(100000, {}).status_code == 200
    assert rambase_record(api.sandbox)["access_token_in_query"] == 1


@pytest.mark.parametrize("params", [{"$format": "json"}, {"$db": "OTHER", "$format": "json"}, {"$db": "sandbox"}])
def test_db_is_required(api, params):
    for r in (api.put_order(100000, {}, params=params), api.start(100000, params=params),
              api.poll(400001, params=params)):
        assert_error(r, 400, 100002, "Unknown database", [params.get("$db", "")])
    rec = rambase_record(api.sandbox)
    assert rec["orders"] == {} and rec["operation_posts"] == {}


def test_db_is_configurable(sandbox_with):
    api = Api(sandbox_with(rambase={"db": "ACME"}))
    assert api.put_order(100000, {}).status_code == 400
    assert api.put_order(100000, {}, params={"$db": "ACME"}).status_code == 200


def test_formats_seen_are_recorded(api):
    api.put_order(100000, {})
    api.put_order(100000, {}, params={"$db": "SANDBOX"})
    api.put_order(100000, {}, params={"$db": "SANDBOX", "$format": "xml"})
    assert rambase_record(api.sandbox)["formats_seen"] == ["json", None, "xml"]


def test_error_body_shape(api):
    r = api.put_order(190000, {})
    assert r.json() == {
        "httpStatusCode": 404,
        "httpStatusDescription": "Not Found",
        "message": "Product not found",
        "translatedMessage": "Product not found",
        "errorMessage": {
            "errorMessageId": 100089,
            "errorMessageLink": f"{api.sandbox.base_url}/system/error-messages/100089",
        },
        "parameters": [],
        "innerErrors": [],
    }


def test_errors_can_be_wrapped(sandbox_with):
    api = Api(sandbox_with(rambase={"wrap_errors": True}, public_url="https://api.rambase.net/"))
    r = api.put_order(190000, {})
    assert r.status_code == 404 and set(r.json()) == {"error"}
    error = assert_error(r, 404, 100089, "Product not found")
    assert error["errorMessage"]["errorMessageLink"] == "https://api.rambase.net/system/error-messages/100089"
    assert set(api.put_order(100000, {}, headers={}).json()) == {"error"}
    assert set(api.poll(1).json()) == {"error"}
    assert "error" not in api.put_order(100000, {}).json()  # successes are never wrapped


# --- PUT procurement/orders/{purchaseOrderId} --------------------------------------------


def test_put_order_stores_and_answers_the_order(api):
    r = api.put_order(100001, {"purchaseOrder": FULL_ORDER})
    assert r.status_code == 200
    assert r.json() == {"purchaseOrder": {"purchaseOrderId": 100001, **FULL_ORDER}}
    rec = rambase_record(api.sandbox)
    assert rec["orders"] == {"100001": FULL_ORDER}
    assert rec["order_puts"] == [{"id": 100001, "body": {"purchaseOrder": FULL_ORDER}, "status_code": 200}]


def test_put_updates_only_the_fields_sent(api):
    api.put_order(100001, {"purchaseOrder": FULL_ORDER})
    update = {"purchaseOrder": {"note": "Changed", "shipment": {"deliveryTerms": "FCA"}, "currency": None}}
    r = api.put_order(100001, update)
    expected = {
        **FULL_ORDER,
        "note": "Changed",
        "currency": None,  # null clears a field
        "shipment": {**FULL_ORDER["shipment"], "deliveryTerms": "FCA"},
    }
    assert r.json()["purchaseOrder"] == {"purchaseOrderId": 100001, **expected}
    assert api.put_order(100002, {"purchaseOrder": {"note": "Other"}}).json()["purchaseOrder"] == {
        "purchaseOrderId": 100002,
        "note": "Other",
    }
    assert rambase_record(api.sandbox)["orders"]["100001"] == expected


def test_put_is_idempotent(api):
    body = {"purchaseOrder": {"note": "Same", "location": {"locationId": 20000}}}
    first, second = api.put_order(100001, body), api.put_order(100001, body)
    assert first.status_code == second.status_code == 200
    assert first.json() == second.json()
    rec = rambase_record(api.sandbox)
    assert rec["orders"] == {"100001": body["purchaseOrder"]}
    assert [p["status_code"] for p in rec["order_puts"]] == [200, 200]


def test_put_accepts_every_incoterm_2020(api):
    for code in ("EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF"):
        assert api.put_order(100001, {"purchaseOrder": {"shipment": {"deliveryTerms": code}}}).status_code == 200


@pytest.mark.parametrize(
    ("order_id", "body", "error_id", "message"),
    [
        (99999, {}, 100209, "Illegal document Id 99999"),
        ("PO-1", {}, 100209, "Illegal document Id PO-1"),
        (100001, {"purchaseOrder": {"location": {"locationId": 9999}}}, 100014,
         "purchaseOrder.location.locationId must be at least 10000"),
        (100001, {"purchaseOrder": {"assignee": {"userId": 99}}}, 100014,
         "purchaseOrder.assignee.userId must be at least 100"),
        (100001, {"purchaseOrder": {"supplier": {"supplierId": 99}}}, 100014,
         "purchaseOrder.supplier.supplierId must be at least 100"),
        (100001, {"purchaseOrder": {"shipFrom": {"addressId": 0}}}, 100014,
         "purchaseOrder.shipFrom.addressId must be at least 1"),
        (100001, {"purchaseOrder": {"shipment": {"shippingService": {"shippingServiceId": 99999}}}}, 100014,
         "purchaseOrder.shipment.shippingService.shippingServiceId must be at least 100000"),
        (100001, {"purchaseOrder": {"currency": "eur"}}, 100563, "Currency eur is not supported by the system"),
        (100001, {"purchaseOrder": {"currency": "EURO"}}, 100563, "Currency EURO is not supported by the system"),
        (100001, {"purchaseOrder": {"shipment": {"deliveryTerms": "DAT"}}}, 100015,
         "Delivery terms DAT is not an Incoterms 2020 code"),
        (100001, {"purchaseOrder": {"status": 2}}, 100011, "Unknown field purchaseOrder.status"),
        (100001, {"purchaseOrder": {"location": {"id": 10000}}}, 100011, "Unknown field purchaseOrder.location.id"),
        (100001, {"order": {}}, 100011, "Unknown field order"),
        (100001, {"purchaseOrder": {"location": {"locationId": "10000"}}}, 100013,
         "Invalid value 10000 for purchaseOrder.location.locationId"),
        (100001, {"purchaseOrder": {"note": 5}}, 100013, "Invalid value 5 for purchaseOrder.note"),
        (100001, {"purchaseOrder": {"location": 10000}}, 100013, "Invalid value 10000 for purchaseOrder.location"),
        (100001, [], 100013, "Invalid value [] for body"),
    ],
)
def test_put_order_validation(api, order_id, body, error_id, message):
    assert_error(api.put_order(order_id, body), 400, error_id, message)
    rec = rambase_record(api.sandbox)
    assert rec["orders"] == {}
    assert rec["order_puts"] == [{"id": order_id, "body": body, "status_code": 400}]


def test_put_order_with_invalid_json(api):
    r = api.call("put", "/procurement/orders/100001", data=b"{not json",
                 headers={"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"})
    assert_error(r, 400, 100010, "The request body is not valid JSON")
    assert rambase_record(api.sandbox)["order_puts"] == [{"id": 100001, "body": "{not json", "status_code": 400}]


def test_rejected_put_leaves_the_stored_order_alone(api):
    api.put_order(100001, {"purchaseOrder": {"note": "Kept"}})
    assert api.put_order(100001, {"purchaseOrder": {"note": "Lost", "assignee": {"userId": 1}}}).status_code == 400
    assert rambase_record(api.sandbox)["orders"] == {"100001": {"note": "Kept"}}


def test_business_outcomes(api):
    assert_error(api.put_order(190000, {"purchaseOrder": {"note": "x"}}), 404, 100089, "Product not found")
    assert_error(api.put_order(199999, {}), 404, 100089, "Product not found")
    assert_error(api.put_order(180000, {"purchaseOrder": {"currency": "EUR"}}), 400, 108018, "Currency mismatch")
    assert api.put_order(189999, {"purchaseOrder": {"currency": "USD"}}).status_code == 200
    assert api.put_order(180001, {"purchaseOrder": {"note": "no currency sent"}}).status_code == 200
    forbidden = api.put_order(170000, {"purchaseOrder": {"note": "x"}})
    assert_error(forbidden, 403, 100004, "Missing duty: Purchase order administrator", ["Purchase order administrator"])
    assert forbidden.json()["httpStatusDescription"] == "Forbidden"
    assert api.put_order(171000, {}).status_code == 200  # just past the forbidden range
    rec = rambase_record(api.sandbox)
    assert set(rec["orders"]) == {"189999", "180001", "171000"}
    assert [p["status_code"] for p in rec["order_puts"]] == [404, 404, 400, 200, 200, 403, 200]


def test_business_outcome_ranges_are_configurable(sandbox_with):
    api = Api(sandbox_with(rambase={
        "order_not_found_ids": [100000, 100009],
        "order_currency_ids": [100010, 100019],
        "order_currency": "NOK",
        "order_forbidden_ids": [100020, 100029],
    }))
    assert api.put_order(100005, {}).status_code == 404
    assert api.put_order(100015, {"purchaseOrder": {"currency": "USD"}}).status_code == 400
    assert api.put_order(100015, {"purchaseOrder": {"currency": "NOK"}}).status_code == 200
    assert api.put_order(100025, {}).status_code == 403
    assert api.put_order(190000, {}).status_code == 200


# --- API operation 100860 and operation instances ------------------------------------------


def test_operation_finishes_at_once(api):
    r = api.start(100000, invoice_id=200001)
    assert r.status_code == 200
    instance = r.json()["operationInstance"]
    base = api.sandbox.base_url
    assert instance["status"] == 9 and instance["error"] is None and instance["systemJob"] is None
    assert instance["createdFor"]["objectId"] == "100000" and instance["createdFor"]["objectType"] == "POR"
    assert instance["apiOperation"]["apiOprationId"] == 100860
    assert instance["objectReference"]["objectId"] == "200001"
    assert "T" in instance["createdAt"] and "+" not in instance["createdAt"]  # no offset: CET/CEST
    iid = instance["operationInstanceId"]
    assert isinstance(iid, int)
    assert instance["operationInstanceLink"] == f"{base}/system/api/operation-instances/{iid}"
    polled = requests.get(instance["operationInstanceLink"], params=QUERY,
                          headers={"Authorization": f"Bearer {api.token}"}, timeout=5)
    assert polled.json()["operationInstance"]["status"] == 9
    assert rambase_record(api.sandbox)["operation_instances"] == {
        str(iid): {"status": 9, "polls": 1, "response_id": 100000, "supplier_invoice_id": 200001}
    }


def test_slow_operation_finishes_after_polls(api):
    instance = api.start(150000).json()["operationInstance"]
    assert instance["status"] == 2 and instance["error"] is None
    job = instance["systemJob"]
    assert job["percentComplete"] == 0 and isinstance(job["objectId"], int) and job["objectLink"]
    iid = instance["operationInstanceId"]
    seen = [(i["status"], i["systemJob"]["percentComplete"])
            for i in (api.poll(iid).json()["operationInstance"] for _ in range(4))]
    assert seen == [(2, 33), (2, 66), (9, 100), (9, 100)]
    assert rambase_record(api.sandbox)["operation_instances"][str(iid)] == {
        "status": 9, "polls": 4, "response_id": 150000, "supplier_invoice_id": 200001
    }


def test_failing_operation_ends_in_error_after_polls(api):
    instance = api.start(160000).json()["operationInstance"]
    assert instance["status"] == 2 and instance["error"] is None
    polls = [api.poll(instance["operationInstanceId"]).json()["operationInstance"] for _ in range(3)]
    assert [p["status"] for p in polls] == [2, 2, 7]
    error = polls[-1]["error"]
    assert error["message"] == "Reserved quantity can not exceed remaining quantity."
    assert error["errorMessage"]["errorMessageId"] == 103849
    assert [e["errorMessage"]["errorMessageId"] for e in error["innerErrors"]] == [103244, 103682]
    assert all(e["message"] for e in error["innerErrors"])
    assert polls[-1]["systemJob"]["percentComplete"] < 100
    assert api.poll(instance["operationInstanceId"]).json()["operationInstance"]["status"] == 7  # final


def test_operation_fails_at_once(api):
    r = api.start(168000)
    assert r.status_code == 200
    instance = r.json()["operationInstance"]
    assert instance["status"] == 7 and instance["systemJob"] is None
    assert instance["error"]["errorMessage"]["errorMessageId"] == 103849
    assert len(instance["error"]["innerErrors"]) == 2
    assert api.start(169000).json()["operationInstance"]["status"] == 2  # still the failing-after-polls range


def test_polls_to_finish_and_progress_key_are_configurable(sandbox_with):
    api = Api(sandbox_with(rambase={"polls_to_finish": 1, "progress_key": "PercentageComplete"}))
    instance = api.start(150000).json()["operationInstance"]
    assert instance["systemJob"]["PercentageComplete"] == 0 and "percentComplete" not in instance["systemJob"]
    polled = api.poll(instance["operationInstanceId"]).json()["operationInstance"]
    assert polled["status"] == 9 and polled["systemJob"]["PercentageComplete"] == 100
    quick = Api(sandbox_with(rambase={"polls_to_finish": 0}))
    assert quick.start(150000).json()["operationInstance"]["status"] == 9


def test_operation_ranges_are_configurable(sandbox_with):
    api = Api(sandbox_with(rambase={
        "operation_slow_ids": [100000, 100009],
        "operation_failing_ids": [100010, 100019],
        "operation_failed_ids": [100020, 100029],
    }))
    assert [api.start(i).json()["operationInstance"]["status"] for i in (100005, 100015, 100025, 150000)] == [
        2, 2, 7, 9
    ]


def test_every_post_runs_the_operation_again(api):
    first = api.start(150001).json()["operationInstance"]
    second = api.start(150001).json()["operationInstance"]
    assert first["operationInstanceId"] != second["operationInstanceId"]
    api.start(100000)
    rec = rambase_record(api.sandbox)
    assert rec["operation_posts"] == {"150001": 2, "100000": 1}
    assert len(rec["operation_instances"]) == 3


@pytest.mark.parametrize(
    ("path_id", "body", "status", "error_id", "message", "params"),
    [
        (100000, {"parameters": {"supplierInvoiceId": 99999}}, 400, 100209, "Illegal document Id 99999", ["99999"]),
        (99999, {"parameters": {"supplierInvoiceId": 200001}}, 400, 100209, "Illegal document Id 99999", ["99999"]),
        ("POR-1", {"parameters": {"supplierInvoiceId": 200001}}, 400, 100209, "Illegal document Id POR-1", None),
        (100000, {"parameters": {}}, 400, 100012, "parameters.supplierInvoiceId is required", None),
        (100000, None, 400, 100012, "parameters.supplierInvoiceId is required", None),
        (100000, {"parameters": {"supplierInvoiceId": "200001"}}, 400, 100013,
         "Invalid value 200001 for parameters.supplierInvoiceId", None),
        (100000, {"parameters": {"supplierInvoiceId": 200001, "force": True}}, 400, 100011,
         "Unknown field parameters.force", None),
    ],
)
def test_operation_validation(api, path_id, body, status, error_id, message, params):
    r = api.call("post", OPERATION.format(path_id), json=body)
    assert_error(r, status, error_id, message, params)
    rec = rambase_record(api.sandbox)
    assert rec["operation_posts"] == {} and rec["operation_instances"] == {}


def test_unknown_operation_and_instance_are_404(api):
    r = api.call("post", "/procurement/order-responses/100000/api-operations/100861/instances",
                 json={"parameters": {"supplierInvoiceId": 200001}})
    assert_error(r, 404, 100017, "API operation 100861 not found")
    assert_error(api.poll(400001), 404, 100016, "Operation instance 400001 not found", ["400001"])
    assert_error(api.poll("abc"), 404, 100016, "Operation instance abc not found")


# --- faults, latency, record and reset ------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint", ["rambase.token", "rambase.orders", "rambase.operations", "rambase.operation_instances"]
)
def test_faults_on_each_rambase_endpoint(sandbox_with, endpoint):
    sandbox = sandbox_with(faults={endpoint: {"error_503": 1.0}})
    if endpoint == "rambase.token":
        r = grant(sandbox, grant_type="client_credentials", **CLIENT)
    else:
        api = Api(sandbox)
        call = {"rambase.orders": lambda: api.put_order(100000, {}), "rambase.operations": lambda: api.start(100000),
                "rambase.operation_instances": lambda: api.poll(400001)}[endpoint]
        r = call()
    assert r.status_code == 503
    full = requests.get(f"{sandbox.base_url}/_sandbox/record", timeout=5).json()
    assert full["faults"] == {endpoint: {"error_503": 1}}
    assert full["rambase"]["order_puts"] == [] and full["rambase"]["operation_posts"] == {}  # never processed


def test_rambase_wildcard_faults_and_control_routes(sandbox_with):
    sandbox = sandbox_with(faults={"rambase.*": {"error_500": 1.0}})
    assert grant(sandbox, grant_type="client_credentials", **CLIENT).status_code == 500
    assert requests.get(f"{sandbox.base_url}/_sandbox/health", timeout=5).status_code == 200
    assert requests.get(f"{sandbox.base_url}/v2/ping", headers={"Authorization": "Bearer x"}).status_code == 401


def test_lost_answer_of_a_post_still_ran_the_operation(sandbox_with):
    # One RNG draw per request: pick a seed that drops the first POST and not the retry.
    seed = next(s for s in range(1000) if (rng := random.Random(s)).random() < 0.5 <= rng.random())
    sandbox = sandbox_with(faults={"rambase.operations": {"accept_then_drop": 0.5}}, seed=seed)
    api = Api(sandbox)
    with pytest.raises(requests.ConnectionError):
        api.start(150000)
    assert api.start(150000).status_code == 200  # a blind retry runs it a second time
    assert rambase_record(sandbox)["operation_posts"] == {"150000": 2}


def test_latency_applies_to_rambase_endpoints(sandbox_with):
    sandbox = sandbox_with(latency_ms=150)
    started = time.monotonic()
    api = Api(sandbox)
    api.put_order(100000, {})
    assert time.monotonic() - started >= 0.3


def test_reset_clears_the_record_but_keeps_tokens(api):
    api.put_order(100001, {"purchaseOrder": {"note": "x"}})
    api.start(150000)
    api.put_order(100001, {}, params={**QUERY, "$access_token": api.token}, headers={})
    assert requests.post(f"{api.sandbox.base_url}/_sandbox/reset", timeout=5).status_code == 200
    assert api.sandbox.snapshot()["rambase"] == {
        "token_grants": 0,
        "token_grant_types": {},
        "unauthorized": 0,
        "access_token_in_query": 0,
        "formats_seen": [],
        "order_puts": [],
        "orders": {},
        "operation_posts": {},
        "duty_refusals": {},
        "operation_instances": {},
    }
    assert api.put_order(100001, {}).json() == {"purchaseOrder": {"purchaseOrderId": 100001}}
    assert api.start(100000).json()["operationInstance"]["operationInstanceId"] == 400001  # ids start over


# --- configuration -----------------------------------------------------------------------------


def test_rambase_config_defaults_and_round_trip():
    config = SandboxConfig.from_dict({"rambase": {"db": "ACME", "wrap_errors": True}})
    assert config.rambase.db == "ACME" and config.rambase.wrap_errors is True
    assert config.rambase.token_ttl_s == 3600 and config.rambase.polls_to_finish == 3
    assert config.rambase.progress_key == "percentComplete" and config.rambase.revoke_after_requests is None
    assert SandboxConfig().rambase == RambaseConfig()
    assert SandboxConfig.from_dict(config.to_dict()) == config


def test_rambase_env_overrides(tmp_path):
    path = tmp_path / "sandbox.json"
    path.write_text(json.dumps({"rambase": {"db": "FILE", "polls_to_finish": 5}}))
    env = {
        "ERP_OUTBOUND_SANDBOX_CONFIG": str(path),
        "ERP_OUTBOUND_SANDBOX_RAMBASE_CLIENT_ID": "cid",
        "ERP_OUTBOUND_SANDBOX_RAMBASE_TOKEN_TTL_S": "1.5",
        "ERP_OUTBOUND_SANDBOX_RAMBASE_REVOKE_AFTER_REQUESTS": "4",
        "ERP_OUTBOUND_SANDBOX_RAMBASE_WRAP_ERRORS": "true",
        "ERP_OUTBOUND_SANDBOX_RAMBASE_PROGRESS_KEY": "PercentageComplete",
    }
    rambase = SandboxConfig.load(env=env).rambase
    assert (rambase.db, rambase.polls_to_finish, rambase.client_id) == ("FILE", 5, "cid")
    assert (rambase.token_ttl_s, rambase.revoke_after_requests, rambase.wrap_errors) == (1.5, 4, True)
    assert rambase.progress_key == "PercentageComplete"


@pytest.mark.parametrize(
    "rambase",
    [
        {"progress_key": "progress"},
        {"token_ttl_s": 0},
        {"revoke_after_requests": 0},
        {"polls_to_finish": -1},
        {"order_not_found_ids": [199999, 190000]},
        {"operation_slow_ids": [150000]},
        {"dbname": "X"},
        {"missing_duties": {"orders": "Purchase order reader"}},
        {"missing_duties": {"rambase.orders": ""}},
    ],
)
def test_invalid_rambase_config_is_rejected(rambase):
    with pytest.raises(ValueError):
        SandboxConfig.from_dict({"rambase": rambase})


# --- missing duties ------------------------------------------------------------------------------


def test_a_missing_duty_refuses_its_endpoint_with_403_and_no_other(sandbox_with):
    sandbox = sandbox_with(rambase={"missing_duties": {"rambase.orders_list": "Purchase order reader"}})
    api = Api(sandbox)
    error = assert_error(api.call("get", "/procurement/orders", params={**QUERY, "$top": 1}), 403, 100004,
                         "Missing duty: Purchase order reader", ["Purchase order reader"])
    assert error["httpStatusDescription"] == "Forbidden"
    assert api.put_order(100001, {"purchaseOrder": {"note": "x"}}).status_code == 200
    assert api.start(100000).status_code == 200
    assert rambase_record(sandbox)["duty_refusals"] == {"rambase.orders_list": 1}


def test_missing_duties_switch_at_runtime(sandbox):
    api = Api(sandbox)
    url = f"{sandbox.base_url}/_sandbox/rambase/duties"
    assert requests.put(url, json={"rambase.operations": "Purchase order response forwarder"}, timeout=5).ok
    assert_error(api.start(100000), 403, 100004, "Missing duty: Purchase order response forwarder")
    assert rambase_record(sandbox)["operation_posts"] == {}, "a refused operation never ran"
    assert requests.put(url, json={"operations": "x"}, timeout=5).status_code == 400
    assert requests.put(url, json={}, timeout=5).ok
    assert api.start(100000).status_code == 200
