"""The sandbox's pressure switches: a real rate limit and transient faults on first attempts only.

The rate limit's token buckets run on a clock the test moves: no sleeping, no timing luck.
"""

from __future__ import annotations

import json

import pytest
import requests

from erp_outbound_tools.sandbox import SandboxConfig, SandboxServer
from erp_outbound_tools.sandbox.pressure import Pressure, PressureConfig, TokenBucket
from test_sandbox_procuros import AUTH, TOKEN, tx


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def start(clock):
    servers = []

    def make(**config) -> SandboxServer:
        config.setdefault("procuros", {"tokens": [TOKEN]})
        servers.append(SandboxServer(SandboxConfig.from_dict(config), clock=clock).start())
        return servers[-1]

    yield make
    for server in servers:
        server.stop()


def ping(sandbox: SandboxServer) -> requests.Response:
    return requests.get(f"{sandbox.base_url}/v2/ping", headers=AUTH, timeout=10)


def post_order(sandbox: SandboxServer, body: dict) -> requests.Response:
    return requests.post(f"{sandbox.base_url}/v2/transactions", json=body, headers=AUTH, timeout=10)


def rambase_token(sandbox: SandboxServer) -> requests.Response:
    return requests.post(f"{sandbox.base_url}/oauth2/access_token", timeout=10,
                         data={"grant_type": "client_credentials", "client_id": "sandbox-client",
                               "client_secret": "sandbox-secret"})


def record(sandbox: SandboxServer) -> dict:
    return requests.get(f"{sandbox.base_url}/_sandbox/record", timeout=10).json()


def order(n: int) -> dict:
    body = tx("ORDER")
    body["content"]["header"]["orderIdentifier"] = f"PO-{n}"
    return body


# --- the token bucket -----------------------------------------------------------------------


def test_token_bucket_refuses_beyond_its_depth_and_refills_at_its_rate(clock):
    bucket = TokenBucket(rate=10, depth=2, clock=clock)
    assert [bucket.take() for _ in range(3)] == [True, True, False]
    clock.advance(0.05)  # half a token
    assert bucket.take() is False
    clock.advance(0.05)
    assert [bucket.take(), bucket.take()] == [True, False]
    clock.advance(60)  # a long pause saves up no more than the depth
    assert [bucket.take() for _ in range(3)] == [True, True, False]


def test_rate_limit_answers_429_with_retry_after_and_does_not_process(start, clock):
    sandbox = start(pressure={"rate_limit": {"requests_per_s": 10, "burst": 2}})
    assert post_order(sandbox, order(1)).status_code == 201
    assert ping(sandbox).status_code == 204
    refused = post_order(sandbox, order(2))
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "1"
    clock.advance(0.1)  # one token back
    assert post_order(sandbox, order(2)).status_code == 201
    assert ping(sandbox).status_code == 429

    rec = record(sandbox)
    assert [t["identifier"] for t in rec["procuros"]["transactions"]] == ["PO-1", "PO-2"]  # the refused one never
    assert rec["pressure"]["rate_limited"] == {"procuros.transactions": 1, "procuros.ping": 1}
    assert rec["answers"] == {"procuros.transactions": {"201": 2, "429": 1}, "procuros.ping": {"204": 1, "429": 1}}
    assert rec["answers_429"] == 2
    assert rec["requests"] == {"procuros.transactions": 3, "procuros.ping": 2}


def test_default_burst_is_a_tenth_of_the_rate(start):
    sandbox = start(pressure={"rate_limit": {"requests_per_s": 50}})
    assert [ping(sandbox).status_code for _ in range(6)] == [204] * 5 + [429]


def test_rate_limit_per_vendor_or_global(start, clock):
    per_vendor = start(pressure={"rate_limit": {"requests_per_s": 1, "burst": 1}})
    assert ping(per_vendor).status_code == 204
    assert ping(per_vendor).status_code == 429
    assert rambase_token(per_vendor).status_code == 200  # RamBase has a bucket of its own

    shared = start(pressure={"rate_limit": {"requests_per_s": 1, "burst": 1, "scope": "global"}})
    assert ping(shared).status_code == 204
    assert rambase_token(shared).status_code == 429

    only_ping = start(pressure={"rate_limit": {"requests_per_s": 1, "burst": 1, "endpoints": ["procuros.ping"]}})
    assert [ping(only_ping).status_code for _ in range(2)] == [204, 429]
    assert [post_order(only_ping, order(n)).status_code for n in range(3)] == [201] * 3


def test_pressure_is_switched_at_run_time_over_http(start, clock):
    sandbox = start()
    url = f"{sandbox.base_url}/_sandbox/pressure"
    assert [ping(sandbox).status_code for _ in range(5)] == [204] * 5
    switch = {"rate_limit": {"requests_per_s": 1, "burst": 1}}
    assert requests.put(url, json=switch, timeout=10).status_code == 200
    assert requests.get(url, timeout=10).json()["rate_limit"] == {
        "requests_per_s": 1, "burst": 1, "scope": "vendor", "endpoints": ["*"]}
    assert [ping(sandbox).status_code for _ in range(2)] == [204, 429]
    assert requests.put(url, json={}, timeout=10).status_code == 200
    assert [ping(sandbox).status_code for _ in range(3)] == [204] * 3

    bad = requests.put(url, json={"rate_limit": {"requests_per_s": 0}}, timeout=10)
    assert bad.status_code == 400 and "requests_per_s" in bad.json()["message"]
    bad = requests.put(url, json={"first_attempt_faults": {"share": 0.3, "kinds": ["slow"]}}, timeout=10)
    assert bad.status_code == 400 and "kinds" in bad.json()["message"]
    assert requests.get(url, timeout=10).json() == {"rate_limit": None, "first_attempt_faults": None}


# --- faults on first attempts only ------------------------------------------------------------


def test_first_attempts_fail_and_the_retry_of_the_same_document_succeeds(start):
    sandbox = start(pressure={"first_attempt_faults": {"share": 1.0, "kinds": ["error_503"]}})
    assert post_order(sandbox, order(1)).status_code == 503
    assert post_order(sandbox, order(2)).status_code == 503
    assert post_order(sandbox, order(1)).status_code == 201
    assert post_order(sandbox, order(2)).status_code == 201
    rec = record(sandbox)
    assert [(t["identifier"], t["status_code"]) for t in rec["procuros"]["transactions"]] == [
        ("PO-1", 201), ("PO-2", 201)]  # the faulted first attempts were not processed
    assert rec["pressure"]["first_attempt_faults"] == {"procuros.transactions": {"error_503": 2}}
    assert rec["pressure"]["first_attempts"] == 2 and rec["pressure"]["retried_attempts"] == 2
    assert rec["answers"]["procuros.transactions"] == {"503": 2, "201": 2}


def test_first_attempt_kinds_429_500_503(start):
    sandbox = start(pressure={"first_attempt_faults": {"share": 1.0}})
    answers = [post_order(sandbox, order(n)) for n in range(30)]
    assert {a.status_code for a in answers} == {429, 500, 503}
    assert all(a.headers["Retry-After"] == "1" for a in answers if a.status_code == 429)
    assert {post_order(sandbox, order(n)).status_code for n in range(30)} == {201}
    assert record(sandbox)["answers_429"] == sum(a.status_code == 429 for a in answers)


def hit(sandbox: SandboxServer, numbers) -> set[int]:
    return {n for n in numbers if post_order(sandbox, order(n)).status_code != 201}


def test_first_attempt_faults_hit_a_seeded_share_whatever_the_order(start):
    config = {"first_attempt_faults": {"share": 0.3}}
    sandbox = start(seed=5, pressure=config)
    first = hit(sandbox, range(200))
    assert 40 <= len(first) <= 80  # 30% of 200, for this seed and these documents
    requests.post(f"{sandbox.base_url}/_sandbox/reset", timeout=10)
    assert hit(sandbox, reversed(range(200))) == first  # the same documents, sent in another order
    assert hit(start(seed=6, pressure=config), range(200)) != first


def test_first_attempt_faults_are_identified_by_body_per_endpoint(start):
    sandbox = start(pressure={"first_attempt_faults": {"share": 1.0, "kinds": ["error_500"],
                                                       "endpoints": ["rambase.*"]}})
    assert post_order(sandbox, order(1)).status_code == 201  # Procuros is not under pressure
    token = rambase_token(sandbox)
    assert token.status_code == 500  # the first token request
    assert rambase_token(sandbox).status_code == 200  # the same request again
    token = rambase_token(sandbox).json()["access_token"]
    url = f"{sandbox.base_url}/procurement/orders/{{}}?$db=SANDBOX"
    headers = {"Authorization": f"Bearer {token}"}
    body = {"purchaseOrder": {"note": "gate 3"}}
    assert requests.put(url.format(100001), json=body, headers=headers, timeout=10).status_code == 500
    assert requests.put(url.format(100001), json=body, headers=headers, timeout=10).status_code == 200
    # Another order, or the same order with another body, is a first attempt again.
    assert requests.put(url.format(100002), json=body, headers=headers, timeout=10).status_code == 500
    assert requests.put(url.format(100001), json={"purchaseOrder": {"note": "gate 4"}}, headers=headers,
                        timeout=10).status_code == 500
    assert [p["id"] for p in record(sandbox)["rambase"]["order_puts"]] == [100001]


def test_refused_by_the_rate_limit_is_not_an_attempt(start, clock):
    sandbox = start(pressure={"rate_limit": {"requests_per_s": 1, "burst": 1},
                              "first_attempt_faults": {"share": 1.0, "kinds": ["error_503"]}})
    assert post_order(sandbox, order(1)).status_code == 503  # first attempt
    assert post_order(sandbox, order(2)).status_code == 429  # refused before it counted as one
    clock.advance(1)
    assert post_order(sandbox, order(2)).status_code == 503  # now its first attempt
    clock.advance(1)
    assert post_order(sandbox, order(1)).status_code == 201
    assert record(sandbox)["pressure"]["first_attempts"] == 2


# --- configuration ------------------------------------------------------------------------------


def test_pressure_from_file_and_env(tmp_path):
    path = tmp_path / "sandbox.json"
    path.write_text(json.dumps({"pressure": {"rate_limit": {"requests_per_s": 100, "scope": "global"}}}))
    config = SandboxConfig.load(path, env={})
    assert config.pressure == {"rate_limit": {"requests_per_s": 100, "scope": "global"}}

    env = {"ERP_OUTBOUND_SANDBOX_RATE_LIMIT": "200", "ERP_OUTBOUND_SANDBOX_FIRST_ATTEMPT_FAULTS": "0.3"}
    config = SandboxConfig.load(path, env=env)
    assert config.pressure == {"rate_limit": {"requests_per_s": 200.0, "scope": "global"},
                               "first_attempt_faults": {"share": 0.3}}
    pressure = PressureConfig.from_dict(config.pressure)
    assert pressure.rate_limit.depth == 20 and pressure.first_attempt_faults.kinds == [
        "rate_limit", "error_500", "error_503"]

    assert SandboxConfig.load(path, env={"ERP_OUTBOUND_SANDBOX_RATE_LIMIT": "0"}).pressure == {"rate_limit": None}
    as_json = {"ERP_OUTBOUND_SANDBOX_PRESSURE": json.dumps({"first_attempt_faults": {"share": 1}})}
    assert SandboxConfig.load(path, env=as_json).pressure == {"first_attempt_faults": {"share": 1}}


@pytest.mark.parametrize("pressure", [
    {"rate_limit": {"requests_per_s": -1}},
    {"rate_limit": {"requests_per_s": 10, "burst": 0}},
    {"rate_limit": {"requests_per_s": 10, "scope": "tenant"}},
    {"rate_limit": {"rps": 10}},
    {"first_attempt_faults": {"share": 1.5}},
    {"first_attempt_faults": {"share": 0.1, "endpoints": []}},
    {"storm": {}},
])
def test_invalid_pressure_is_rejected(pressure):
    with pytest.raises(ValueError):
        SandboxConfig(pressure=pressure)


def test_pressure_without_switches_lets_everything_through(clock):
    pressure = Pressure(PressureConfig(), seed=0, clock=clock)
    assert not pressure.wants_body("procuros.transactions")
    assert pressure.judge("procuros.transactions", "POST", "/v2/transactions", b"{}") is None
