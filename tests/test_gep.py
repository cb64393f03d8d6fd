"""GEP SMART: per-key acknowledgement rules, quirks, batching, auth, and whole DAG runs."""

from __future__ import annotations

import asyncio

import json
import os

import pandas as pd
import pytest
from sqlalchemy import create_engine

from conftest import connect, connect_gep
from erp_outbound.core.http import Answer, ConnectionConfigError, TransientError
from erp_outbound.core.verdict import Outcome
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_outbound.gep.verdicts import batch_verdicts

DOCS = [{"doc_type": "POR_STATUS", "document_id": str(i), "identifier": key, "attempts": 0}
        for i, key in enumerate(["48000061", "X1", "48000063"], start=1)]


def answer(body, status=200) -> Answer:
    return Answer(status, body, json.dumps(body), {})


def no_access_problem(_answer):
    return None


@pytest.mark.parametrize("errors_key, status_code", [
    ("errorDetails", "400"), ("errorDetail", "400"), ("errorDetails", "200")])
def test_each_key_is_decided_from_the_lists_never_from_status_code(errors_key, status_code):
    body = {"data": None, "statusCode": status_code,
            errors_key: [{"key": "X1", "errors": [{"errorCode": "DataValidation",
                                                   "errorDescription": "Invalid Order Number"}]}],
            "successDetails": [{"key": "48000061"}]}
    verdicts = batch_verdicts(DOCS, answer(body), no_access_problem)
    assert [v.outcome for v in verdicts] == [Outcome.DELIVERED, Outcome.REJECTED, Outcome.DEFERRED]
    assert verdicts[1].message == "DataValidation: Invalid Order Number"
    assert verdicts[1].error_code == "DataValidation"
    assert verdicts[2].message.startswith("GEP answered neither")


def test_success_with_status_code_400_is_still_success():
    body = {"data": None, "statusCode": "400", "errorDetails": [],
            "successDetails": [{"key": d["identifier"]} for d in DOCS]}
    assert {v.outcome for v in batch_verdicts(DOCS, answer(body), no_access_problem)} == {Outcome.DELIVERED}


@pytest.mark.parametrize("status, body", [(500, {"message": "boom"}), (200, None), (502, "<html>")])
def test_a_whole_batch_failure_decides_nothing(status, body):
    with pytest.raises(TransientError):
        batch_verdicts(DOCS, answer(body, status), no_access_problem)


def rows(url: str) -> pd.DataFrame:
    engine = create_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql("SELECT * FROM gep_por_statuses ORDER BY id", conn)
    engine.dispose()
    return frame.astype(object).where(frame.notna(), None)


@pytest.fixture
def erp(tmp_path):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    return url, build_demo_erp(url, 400, seed=31)


def run(conf=None):
    return load_dag("gep_por_status").test(run_conf=conf or {})


def test_the_dag_acknowledges_in_batches_and_keeps_errors_per_key(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    sandbox = sandbox_with()
    connect(monkeypatch, url, sandbox.base_url)
    connect_gep(monkeypatch, sandbox.base_url)

    assert str(run({"batch_size": 7}).state).endswith("success")

    frame = rows(url)
    expected = summary["gep_por_statuses"]["expected"]
    assert (frame.ack_status == "ACKNOWLEDGED").sum() == expected["ACKNOWLEDGED"]
    errored = frame[frame.ack_status.isna() & frame.order_number.notna()]
    assert len(errored) == expected["ERRORED"]
    assert errored.ack_errors.str.contains("Invalid Order Number").all()
    assert (errored.attempts == 1).all()
    keyless = frame[frame.order_number.isna()]
    assert len(keyless) == expected["BUILD_ERROR"]
    assert keyless.ack_errors.str.contains("Key is mandatory").all()
    record = sandbox.snapshot()["gep"]
    sent = expected["ACKNOWLEDGED"] + expected["ERRORED"]
    assert sum(record["batch_sizes"]) == sent
    assert max(record["batch_sizes"]) == 7 and len(record["batch_sizes"]) == -(-sent // 7)
    assert record["token_grants"] == 1


@pytest.mark.parametrize("quirk", ["error_detail_singular", "status_400_on_success", "status_200_with_errors"])
def test_documented_quirks_change_nothing(erp, files, sandbox_with, monkeypatch, quirk):
    url, summary = erp
    sandbox = sandbox_with(gep={"quirks": [quirk]})
    connect(monkeypatch, url, sandbox.base_url)
    connect_gep(monkeypatch, sandbox.base_url)
    assert str(run().state).endswith("success")
    frame = rows(url)
    expected = summary["gep_por_statuses"]["expected"]
    assert (frame.ack_status == "ACKNOWLEDGED").sum() == expected["ACKNOWLEDGED"]
    assert frame.ack_errors.fillna("").str.contains("Invalid Order Number").sum() == expected["ERRORED"]


def test_keys_in_neither_list_stay_pending_untouched(erp, files, sandbox_with, monkeypatch):
    url, _ = erp
    engine = create_engine(url)
    with engine.begin() as conn:  # some keys GEP will leave out of both lists
        conn.exec_driver_sql("UPDATE gep_por_statuses SET order_number = 'Z' || order_number WHERE id % 10 = 0 "
                             "AND order_number IS NOT NULL AND order_number NOT LIKE 'X%'")
    engine.dispose()
    sandbox = sandbox_with(gep={"quirks": ["drop_keys"]})
    connect(monkeypatch, url, sandbox.base_url)
    connect_gep(monkeypatch, sandbox.base_url)
    assert str(run().state).endswith("success")
    dropped = rows(url)
    dropped = dropped[dropped.order_number.fillna("").str.startswith("Z")]
    assert len(dropped) > 0
    assert dropped.ack_status.isna().all() and (dropped.attempts == 0).all() and dropped.ack_errors.isna().all()


def test_unavailable_gep_marks_nothing(erp, files, sandbox_with, monkeypatch):
    url, _ = erp
    sandbox = sandbox_with(faults={"gep.status": {"error_500": 0.5, "error_503": 0.5}})
    connect(monkeypatch, url, sandbox.base_url)
    connect_gep(monkeypatch, sandbox.base_url, max_tries=2)
    before = rows(url)
    assert str(run().state).endswith("success")
    after = rows(url)
    keyed = after.order_number.notna()
    assert after[keyed].equals(before[keyed]), "no acknowledgement, no change"


def test_a_refused_auth_key_fails_at_once(erp, files, sandbox_with, monkeypatch):
    url, _ = erp
    sandbox = sandbox_with()
    connect(monkeypatch, url, sandbox.base_url)
    connect_gep(monkeypatch, sandbox.base_url, auth_key="wrong-key-9")
    before = rows(url)
    dag_run = run()
    assert str(dag_run.state).endswith("failed")
    assert rows(url).equals(before)
    assert sandbox.snapshot()["gep"]["puts"] == []


def test_an_expired_token_is_renewed(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    sandbox = sandbox_with(gep={"revoke_after_requests": 2})
    connect(monkeypatch, url, sandbox.base_url)
    connect_gep(monkeypatch, sandbox.base_url, max_concurrency=1)
    assert str(run({"batch_size": 5}).state).endswith("success")
    assert (rows(url).ack_status == "ACKNOWLEDGED").sum() == summary["gep_por_statuses"]["expected"]["ACKNOWLEDGED"]
    assert sandbox.snapshot()["gep"]["token_grants"] > 2


def fetch_token(hook) -> tuple[str, float]:
    async def fetch():
        async with hook.client() as client:
            return await client.fetch_token()

    return asyncio.run(fetch())


def test_the_hook_sends_the_subscription_key_and_masks_secrets(sandbox_with, monkeypatch):
    from erp_outbound.gep import hook as gep_hook

    masked = []
    monkeypatch.setattr(gep_hook, "mask_secret", masked.append)
    sandbox = sandbox_with(gep={"subscription_key": "sub-123"})
    connect_gep(monkeypatch, sandbox.base_url, subscription_api_key="sub-123")
    token, lifetime = fetch_token(gep_hook.GepSmartHook())
    assert token in masked and "sub-123" in masked and "sandbox-gep-key" in masked
    assert lifetime == 120 * 60
    # The names earlier versions used still work: token_url and subscription_key.
    connect_gep(monkeypatch, sandbox.base_url, subscription_key="sub-123")
    extras = json.loads(os.environ["AIRFLOW_CONN_GEP_SMART_DEFAULT"])["extra"]
    extras["token_url"] = extras.pop("auth_url")
    monkeypatch.setenv("AIRFLOW_CONN_GEP_SMART_DEFAULT", json.dumps(
        {"conn_type": "gep_smart", "host": sandbox.base_url, "password": "sandbox-gep-key", "extra": extras}))
    assert fetch_token(gep_hook.GepSmartHook())[1] == 120 * 60
    connect_gep(monkeypatch, sandbox.base_url)  # without the subscription key
    with pytest.raises(ConnectionConfigError, match="gep_smart_default"):
        fetch_token(gep_hook.GepSmartHook())
