"""Tests of the GEP SMART emulator of the sandbox, through HTTP with `requests`."""

from __future__ import annotations

import base64
import json
import time

import pytest
import requests

from erp_outbound_tools.sandbox import GepConfig, SandboxConfig, SandboxServer

AUTH_KEY = "sandbox-gep-key"
POR = "/SmartInterfaceAPI/api/Order/PORStatus"
STATUS_PATHS = [
    POR,
    "/SmartInterfaceAPI/api/Order/OrderStatus",
    "/SmartInterfaceAPI/api/Invoice/InvoiceStatus",
    "/SmartInterfaceAPI/api/Receipt/ReceiptStatus",
    "/SmartInterfaceAPI/api/Contract/ContractStatus",
    "/SmartInterfaceAPI/api/CreditMemo/CreditMemoStatus",
]
MANDATORY = [{"errorCode": "MandatoryField", "errorDescription": "Key is mandatory"}]
INVALID = [{"errorCode": "DataValidation", "errorDescription": "Invalid Order Number"}]
UNAUTHORIZED = {"data": None, "statusCode": "401", "errorDetails": [], "successDetails": [], "message": "Unauthorized"}
BAD_REQUEST = {
    "data": None,
    "statusCode": "400",
    "errorDetails": [{"key": None, "errors": [{"errorCode": "DataValidation", "errorDescription": "Invalid request"}]}],
    "successDetails": [],
}


def item(key, **fields) -> dict:
    return {"key": key, "description": "Processed", "status": "Success", "sourceSystemName": "ERP",
            "sourceSystemValue": "PO", "lob": "Direct", "errorCode": None, **fields}


def model(*keys) -> dict:
    return {"model": [item(k) for k in keys]}


def get_token(sandbox: SandboxServer, headers=None) -> requests.Response:
    headers = {"gep-auth-key": AUTH_KEY} if headers is None else headers
    return requests.get(f"{sandbox.base_url}/token/gep", headers=headers, timeout=5)


def new_token(sandbox: SandboxServer, **headers) -> str:
    r = get_token(sandbox, {"gep-auth-key": AUTH_KEY, **headers})
    assert r.status_code == 200, r.text
    return r.json()["Token"]


class Api:
    """A well-behaved GEP client: bearer token, JSON body."""

    def __init__(self, sandbox: SandboxServer, token: str | None = None, **headers) -> None:
        self.sandbox = sandbox
        self.extra = headers
        self.token = token or new_token(sandbox, **headers)

    def put(self, body, path: str = POR, headers=None, **kwargs) -> requests.Response:
        if headers is None:
            headers = {"Authorization": f"Bearer {self.token}", **self.extra}
        if "data" not in kwargs:
            kwargs["json"] = body
        return requests.put(self.sandbox.base_url + path, headers=headers, timeout=5, **kwargs)


def gep_record(sandbox: SandboxServer) -> dict:
    return requests.get(f"{sandbox.base_url}/_sandbox/record", timeout=5).json()["gep"]


def errors_of(body: dict) -> list:
    """Clients must read both spellings of the error list."""
    return body["errorDetails"] if "errorDetails" in body else body["errorDetail"]


@pytest.fixture
def sandbox(sandbox_with) -> SandboxServer:
    return sandbox_with()


@pytest.fixture
def api(sandbox) -> Api:
    return Api(sandbox)


# --- token service ------------------------------------------------------------------------


def test_token_grant(sandbox):
    r = get_token(sandbox)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"Expires", "Token", "StatusCode", "ErrorMessage"}
    assert body["Expires"] == 120 and body["StatusCode"] == 200 and body["ErrorMessage"] is None
    parts = body["Token"].split(".")
    assert len(parts) == 3 and all(parts)
    header = json.loads(base64.urlsafe_b64decode(parts[0] + "=" * (-len(parts[0]) % 4)))
    assert header["typ"] == "JWT"
    assert all(set(p) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") for p in parts)
    assert get_token(sandbox).json()["Token"] != body["Token"]
    assert Api(sandbox, body["Token"]).put(model("PO-1")).status_code == 200
    rec = gep_record(sandbox)
    assert rec["token_grants"] == 2 and rec["token_refusals"] == 0


@pytest.mark.parametrize("headers", [{}, {"gep-auth-key": "wrong"}, {"Authorization": f"Bearer {AUTH_KEY}"}])
def test_bad_auth_key_is_refused(sandbox, headers):
    r = get_token(sandbox, headers)
    assert r.status_code == 401
    assert r.json() == {"Expires": 0, "Token": None, "StatusCode": 401, "ErrorMessage": "Invalid gep-auth-key"}
    rec = gep_record(sandbox)
    assert rec["token_grants"] == 0 and rec["token_refusals"] == 1


def test_auth_key_and_token_minutes_are_configurable(sandbox_with):
    sandbox = sandbox_with(gep={"auth_key": "other", "token_minutes": 30})
    assert get_token(sandbox).status_code == 401
    r = get_token(sandbox, {"gep-auth-key": "other"})
    assert r.status_code == 200 and r.json()["Expires"] == 30


def test_subscription_key_is_required_when_configured(sandbox_with):
    sandbox = sandbox_with(gep={"subscription_key": "sub-123"})
    for headers in ({"gep-auth-key": AUTH_KEY}, {"gep-auth-key": AUTH_KEY, "Ocp-Apim-Subscription-Key": "nope"}):
        r = get_token(sandbox, headers)
        assert r.status_code == 401
        assert r.json() == {"Expires": 0, "Token": None, "StatusCode": 401, "ErrorMessage": "Invalid subscription key"}
    good = {"Ocp-Apim-Subscription-Key": "sub-123"}
    r = get_token(sandbox, {"gep-auth-key": "wrong", **good})
    assert r.status_code == 401 and r.json()["ErrorMessage"] == "Invalid gep-auth-key"

    api = Api(sandbox, **good)
    assert api.put(model("PO-1")).status_code == 200
    bearer = {"Authorization": f"Bearer {api.token}"}
    missing = api.put(model("PO-1"), headers=bearer)
    assert missing.status_code == 401
    assert missing.json()["statusCode"] == 401 and "missing subscription key" in missing.json()["message"]
    wrong = api.put(model("PO-1"), headers={**bearer, "Ocp-Apim-Subscription-Key": "nope"})
    assert wrong.status_code == 401 and "invalid subscription key" in wrong.json()["message"]
    rec = gep_record(sandbox)
    assert rec["token_grants"] == 1 and rec["token_refusals"] == 3 and rec["unauthorized"] == 2
    assert rec["acknowledged"] == {POR: {"PO-1": 1}}


# --- authorization of acknowledgements ------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {AUTH_KEY}"}, {"gep-auth-key": AUTH_KEY}],
)
def test_acknowledgements_need_a_valid_bearer_token(api, headers):
    r = api.put(model("PO-1"), headers=headers)
    assert r.status_code == 401 and r.json() == UNAUTHORIZED
    rec = gep_record(api.sandbox)
    assert rec["unauthorized"] == 1 and rec["acknowledged"] == {} and rec["batch_sizes"] == []
    assert rec["puts"] == [{"path": POR, "keys": ["PO-1"], "status_code": 401}]  # rejected PUTs are recorded


def test_token_expires(sandbox_with, sandbox_clock):
    api = Api(sandbox_with(gep={"token_minutes": 0.005}))  # 0.3 s
    assert api.put(model("PO-1")).status_code == 200
    sandbox_clock.advance(0.29)
    assert api.put(model("PO-1")).status_code == 200
    sandbox_clock.advance(0.02)
    r = api.put(model("PO-1"))
    assert r.status_code == 401 and r.json() == UNAUTHORIZED
    api.token = new_token(api.sandbox)  # what a client does on 401
    assert api.put(model("PO-1")).status_code == 200


def test_token_is_revoked_after_n_requests(sandbox_with):
    api = Api(sandbox_with(gep={"revoke_after_requests": 2}))
    assert [api.put(model("PO-1")).status_code for _ in range(3)] == [200, 200, 401]
    api.token = new_token(api.sandbox)
    assert [api.put(model("PO-1")).status_code for _ in range(3)] == [200, 200, 401]
    rec = gep_record(api.sandbox)
    assert rec["token_grants"] == 2 and rec["unauthorized"] == 2
    assert rec["acknowledged"] == {POR: {"PO-1": 4}}


# --- request shape -----------------------------------------------------------------------------


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_body_must_be_json(api, content_type):
    headers = {"Authorization": f"Bearer {api.token}"}
    if content_type:
        headers["Content-Type"] = content_type
    r = api.put(None, headers=headers, data=json.dumps(model("PO-1")))
    assert r.status_code == 415
    rec = gep_record(api.sandbox)
    assert rec["acknowledged"] == {} and rec["batch_sizes"] == []
    assert rec["puts"] == [{"path": POR, "keys": ["PO-1"], "status_code": 415}]


def test_json_content_type_with_charset_is_accepted(api):
    headers = {"Authorization": f"Bearer {api.token}", "Content-Type": "application/json; charset=utf-8"}
    assert api.put(None, headers=headers, data=json.dumps(model("PO-1"))).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        {},
        {"model": None},
        {"model": {"key": "PO-1"}},
        {"Model": [item("PO-1")]},
        {"model": ["PO-1"]},
        {"model": [item(48000061)]},
        {"model": [item("PO-1", status={"code": "ok"})]},
        "not json",
    ],
)
def test_malformed_body_is_400(api, body):
    headers = {"Authorization": f"Bearer {api.token}", "Content-Type": "application/json"}
    data = body if isinstance(body, str) else json.dumps(body)
    r = api.put(None, headers=headers, data=data)
    assert r.status_code == 400 and r.json() == BAD_REQUEST
    rec = gep_record(api.sandbox)
    assert rec["acknowledged"] == {} and rec["errors"] == {} and rec["batch_sizes"] == []
    assert [p["status_code"] for p in rec["puts"]] == [400]


def test_only_key_is_required_and_unknown_fields_are_ignored(api):
    r = api.put({"model": [{"key": "PO-1"}, {"key": "PO-2", "comment": 5, "status": None}]})
    assert r.status_code == 200
    assert r.json() == {"data": None, "statusCode": "200", "errorDetails": [],
                        "successDetails": [{"key": "PO-1"}, {"key": "PO-2"}]}


def test_empty_model_is_an_empty_success(api):
    r = api.put({"model": []})
    assert r.json() == {"data": None, "statusCode": "200", "errorDetails": [], "successDetails": []}
    assert gep_record(api.sandbox)["batch_sizes"] == [0]


# --- per-key outcomes -----------------------------------------------------------------------------


def test_success(api):
    r = api.put(model("48000061"))
    assert r.status_code == 200
    assert r.json() == {"data": None, "statusCode": "200", "errorDetails": [], "successDetails": [{"key": "48000061"}]}
    assert isinstance(r.json()["statusCode"], str)


@pytest.mark.parametrize("key_item", [{}, {"key": None}, {"key": ""}, {"key": "   "}])
def test_missing_key_is_mandatory_field(api, key_item):
    r = api.put({"model": [{"description": "x", **key_item}]})
    assert r.status_code == 200
    assert r.json() == {"data": None, "statusCode": "400", "errorDetails": [{"key": "", "errors": MANDATORY}],
                        "successDetails": []}
    assert gep_record(api.sandbox)["errors"] == {POR: {"": ["MandatoryField"]}}


def test_invalid_key(api):
    r = api.put(model("X-1"))
    assert r.status_code == 200
    assert r.json() == {"data": None, "statusCode": "400", "errorDetails": [{"key": "X-1", "errors": INVALID}],
                        "successDetails": []}


def test_exception_key_has_two_errors(api):
    details = api.put(model("E-1")).json()["errorDetails"]
    assert [d["key"] for d in details] == ["E-1"]
    assert [e["errorCode"] for e in details[0]["errors"]] == ["SystemException", "DataException"]
    assert all(e["errorDescription"] for e in details[0]["errors"])


def test_mixed_batch(api):
    r = api.put({"model": [item("PO-1"), item("X-2"), item(None), item("E-3"), item("Z-4"), item("PO-5")]})
    body = r.json()
    assert r.status_code == 200 and body["statusCode"] == "400"
    assert [d["key"] for d in body["errorDetails"]] == ["X-2", "", "E-3"]
    assert body["successDetails"] == [{"key": "PO-1"}, {"key": "Z-4"}, {"key": "PO-5"}]  # no quirk: Z succeeds


def test_key_prefixes_are_configurable(sandbox_with):
    api = Api(sandbox_with(gep={"invalid_key_prefixes": ["BAD", "Q"], "exception_key_prefixes": ["BOOM"]}))
    body = api.put(model("BAD1", "Q2", "BOOM3", "X4", "E5")).json()
    assert [(d["key"], d["errors"][0]["errorCode"]) for d in body["errorDetails"]] == [
        ("BAD1", "DataValidation"), ("Q2", "DataValidation"), ("BOOM3", "SystemException")]
    assert body["successDetails"] == [{"key": "X4"}, {"key": "E5"}]


@pytest.mark.parametrize("path", STATUS_PATHS)
def test_sibling_paths(api, path):
    r = api.put(model("K-1", "X-2"), path=path)
    assert r.status_code == 200
    body = r.json()
    assert body["statusCode"] == "400" and body["successDetails"] == [{"key": "K-1"}]
    rec = gep_record(api.sandbox)
    assert rec["acknowledged"] == {path: {"K-1": 1}} and rec["errors"] == {path: {"X-2": ["DataValidation"]}}
    assert rec["puts"] == [{"path": path, "keys": ["K-1", "X-2"], "status_code": 200}]


@pytest.mark.parametrize("path", ["/SmartInterfaceAPI/api/Order/InvoiceStatus", "/SmartInterfaceAPI/api/Foo/FooStatus",
                                  "/SmartInterfaceAPI/api/order/porstatus"])
def test_unknown_paths_are_404(api, path):
    assert api.put(model("K-1"), path=path).status_code == 404
    assert gep_record(api.sandbox)["puts"] == []


# --- quirks ----------------------------------------------------------------------------------------


def test_quirk_error_detail_singular(sandbox_with):
    api = Api(sandbox_with(gep={"quirks": ["error_detail_singular"]}))
    body = api.put(model("PO-1", "X-2")).json()
    assert "errorDetails" not in body and body["errorDetail"] == [{"key": "X-2", "errors": INVALID}]
    assert body["statusCode"] == "400" and errors_of(body)[0]["key"] == "X-2"
    assert api.put(model("PO-1")).json()["errorDetail"] == []


def test_quirk_status_400_on_success(sandbox_with):
    api = Api(sandbox_with(gep={"quirks": ["status_400_on_success"]}))
    r = api.put(model("48000061"))
    assert r.status_code == 200
    assert r.json() == {"data": None, "statusCode": "400", "errorDetails": [], "successDetails": [{"key": "48000061"}]}
    assert api.put(model("X-1")).json()["statusCode"] == "400"


def test_quirk_status_200_with_errors(sandbox_with):
    api = Api(sandbox_with(gep={"quirks": ["status_200_with_errors"]}))
    body = api.put(model("X-1")).json()
    assert body == {"data": None, "statusCode": "200", "errorDetails": [{"key": "X-1", "errors": INVALID}],
                    "successDetails": []}
    assert api.put(model("PO-1")).json()["statusCode"] == "200"


def test_quirk_drop_keys(sandbox_with):
    api = Api(sandbox_with(gep={"quirks": ["drop_keys"], "drop_key_prefixes": ["Z", "LOST"]}))
    body = api.put(model("PO-1", "Z-2", "LOST-3", "X-4")).json()
    assert body["successDetails"] == [{"key": "PO-1"}]
    assert [d["key"] for d in body["errorDetails"]] == ["X-4"]  # Z-2 and LOST-3: in neither list
    assert api.put(model("Z-2")).json() == {"data": None, "statusCode": "200", "errorDetails": [],
                                            "successDetails": []}
    rec = gep_record(api.sandbox)
    assert rec["dropped"] == {POR: {"Z-2": 2, "LOST-3": 1}}
    assert rec["acknowledged"] == {POR: {"PO-1": 1}}


def test_quirks_combine(sandbox_with):
    api = Api(sandbox_with(gep={"quirks": ["error_detail_singular", "status_200_with_errors", "drop_keys"]}))
    body = api.put(model("Z-1", "E-2")).json()
    assert body["statusCode"] == "200" and body["successDetails"] == []
    assert [d["key"] for d in body["errorDetail"]] == ["E-2"]


# --- record, reset, faults, latency ----------------------------------------------------------------


def test_record_contents(api):
    api.put(model("PO-1", "X-2", "E-3"))
    api.put(model("PO-1", "E-3"), path=STATUS_PATHS[2])
    api.put({"model": [item(None)]})
    api.put(model("PO-1"), headers={})
    assert gep_record(api.sandbox) == {
        "token_grants": 1,
        "token_refusals": 0,
        "unauthorized": 1,
        "puts": [
            {"path": POR, "keys": ["PO-1", "X-2", "E-3"], "status_code": 200},
            {"path": STATUS_PATHS[2], "keys": ["PO-1", "E-3"], "status_code": 200},
            {"path": POR, "keys": [None], "status_code": 200},
            {"path": POR, "keys": ["PO-1"], "status_code": 401},
        ],
        "acknowledged": {POR: {"PO-1": 1}, STATUS_PATHS[2]: {"PO-1": 1}},
        "errors": {
            POR: {"X-2": ["DataValidation"], "E-3": ["SystemException", "DataException"], "": ["MandatoryField"]},
            STATUS_PATHS[2]: {"E-3": ["SystemException", "DataException"]},
        },
        "dropped": {},
        "batch_sizes": [3, 2, 1],
        "refused_batches": [],
    }


def test_reset_clears_the_record_but_keeps_tokens(api):
    api.put(model("PO-1", "X-2"))
    assert requests.post(f"{api.sandbox.base_url}/_sandbox/reset", timeout=5).status_code == 200
    assert api.sandbox.snapshot()["gep"] == {
        "token_grants": 0, "token_refusals": 0, "unauthorized": 0, "puts": [], "acknowledged": {}, "errors": {},
        "dropped": {}, "batch_sizes": [], "refused_batches": [],
    }
    assert api.put(model("PO-1")).status_code == 200


def test_fault_on_gep_status(sandbox_with):
    sandbox = sandbox_with(faults={"gep.status": {"error_503": 1.0}})
    api = Api(sandbox)  # the token endpoint is not faulted
    for path in (POR, STATUS_PATHS[-1]):
        assert api.put(model("PO-1"), path=path).status_code == 503
    full = requests.get(f"{sandbox.base_url}/_sandbox/record", timeout=5).json()
    assert full["faults"] == {"gep.status": {"error_503": 2}}
    assert full["requests"] == {"gep.token": 1, "gep.status": 2}
    assert full["gep"]["puts"] == [] and full["gep"]["acknowledged"] == {}  # never processed


def test_fault_on_gep_token(sandbox_with):
    sandbox = sandbox_with(faults={"gep.token": {"error_500": 1.0}})
    assert get_token(sandbox).status_code == 500
    assert gep_record(sandbox)["token_grants"] == 0


def test_lost_answer_still_acknowledged(sandbox_with):
    sandbox = sandbox_with(faults={"gep.status": {"accept_then_drop": 1.0}})
    api = Api(sandbox)
    with pytest.raises(requests.ConnectionError):
        api.put(model("PO-1"))
    assert gep_record(sandbox)["acknowledged"] == {POR: {"PO-1": 1}}


def test_latency_applies_to_gep_endpoints(sandbox_with):
    sandbox = sandbox_with(latency_ms=150)
    started = time.monotonic()
    Api(sandbox).put(model("PO-1"))
    assert time.monotonic() - started >= 0.3


# --- configuration -----------------------------------------------------------------------------------


def test_gep_config_defaults_and_round_trip():
    gep = SandboxConfig().gep
    assert gep == GepConfig()
    assert (gep.auth_key, gep.subscription_key, gep.token_minutes, gep.revoke_after_requests) == (
        "sandbox-gep-key", None, 120, None)
    assert (gep.invalid_key_prefixes, gep.exception_key_prefixes, gep.drop_key_prefixes, gep.quirks) == (
        ["X"], ["E"], ["Z"], [])
    config = SandboxConfig.from_dict({"gep": {"quirks": ["drop_keys"], "subscription_key": "s"}})
    assert SandboxConfig.from_dict(config.to_dict()) == config


def test_gep_env_overrides():
    env = {
        "ERP_OUTBOUND_SANDBOX_GEP_AUTH_KEY": "k",
        "ERP_OUTBOUND_SANDBOX_GEP_SUBSCRIPTION_KEY": "sub",
        "ERP_OUTBOUND_SANDBOX_GEP_TOKEN_MINUTES": "0.5",
        "ERP_OUTBOUND_SANDBOX_GEP_REVOKE_AFTER_REQUESTS": "3",
        "ERP_OUTBOUND_SANDBOX_GEP_QUIRKS": "drop_keys, error_detail_singular",
        "ERP_OUTBOUND_SANDBOX_GEP_DROP_KEY_PREFIXES": "Z,LOST",
    }
    gep = SandboxConfig.load(env=env).gep
    assert (gep.auth_key, gep.subscription_key, gep.token_minutes, gep.revoke_after_requests) == ("k", "sub", 0.5, 3)
    assert gep.quirks == ["drop_keys", "error_detail_singular"] and gep.drop_key_prefixes == ["Z", "LOST"]


@pytest.mark.parametrize(
    "gep",
    [
        {"quirks": ["no_such_quirk"]},
        {"quirks": "drop_keys"},
        {"token_minutes": 0},
        {"revoke_after_requests": 0},
        {"invalid_key_prefixes": [""]},
        {"exception_key_prefixes": "E"},
        {"auth_key": ""},
        {"subscription_key": ""},
        {"authkey": "x"},
    ],
)
def test_invalid_gep_config_is_rejected(gep):
    with pytest.raises(ValueError):
        SandboxConfig.from_dict({"gep": gep})


# --- the batch limit -----------------------------------------------------------------------------


def test_a_batch_above_the_limit_is_refused_as_a_whole(sandbox_with):
    sandbox = sandbox_with(gep={"max_batch_items": 2})
    api = Api(sandbox)
    r = api.put(model("PO-1", "PO-2", "X-3"))
    assert r.status_code == 400
    body = r.json()
    assert body["successDetails"] == [] and [e["key"] for e in body["errorDetails"]] == [None]
    assert "maximum of 2 items" in body["errorDetails"][0]["errors"][0]["errorDescription"]
    ok = api.put(model("PO-1", "X-3"))
    assert ok.status_code == 200 and ok.json()["successDetails"] == [{"key": "PO-1"}]
    record = gep_record(sandbox)
    assert record["refused_batches"] == [3] and record["batch_sizes"] == [2]
    assert record["acknowledged"] == {POR: {"PO-1": 1}}, "a refused batch decided no key"


def test_the_batch_limit_switches_at_runtime(sandbox):
    api = Api(sandbox)
    url = f"{sandbox.base_url}/_sandbox/gep/batch-limit"
    assert requests.put(url, json={"max_items": 1}, timeout=5).ok
    assert api.put(model("PO-1", "PO-2")).status_code == 400
    assert requests.put(url, json={"max_items": 0}, timeout=5).status_code == 400
    assert requests.put(url, json={"max_items": None}, timeout=5).ok
    assert api.put(model("PO-1", "PO-2")).status_code == 200


def test_the_batch_limit_from_the_environment():
    config = SandboxConfig.load(env={"ERP_OUTBOUND_SANDBOX_GEP_MAX_BATCH_ITEMS": "25"})
    assert config.gep.max_batch_items == 25 and GepConfig().max_batch_items is None
