"""Whole runs of the RamBase DAGs with dag.test() against the sandbox, asserting the ERP rows."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import create_engine

from conftest import connect, connect_rambase
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp

pytestmark = pytest.mark.airflow


def rows(url: str, table: str) -> pd.DataFrame:
    engine = create_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql(f"SELECT * FROM {table} ORDER BY id", conn)
    engine.dispose()
    return frame.astype(object).where(frame.notna(), None)


@pytest.fixture
def erp(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    summary = build_demo_erp(url, 400, seed=12)
    return url, summary


def run(dag_id: str, conf=None):
    return load_dag(dag_id).test(run_conf=conf or {})


def test_purchase_order_updates_end_to_end(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    sandbox = sandbox_with()
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url)

    assert str(run("rambase_purchase_orders").state).endswith("success")

    frame = rows(url, "rambase_po_updates")
    expected = summary["rambase_po_updates"]["expected"]
    assert (frame.rambase_status == "SYNCED").sum() == expected["SYNCED"]
    failed = frame[frame.rambase_status.isna()]
    assert len(failed) == expected["REJECTED"] + expected["BUILD_ERROR"]
    assert (failed.attempts == 1).all()
    by_id = failed[failed.rambase_error_id.notna()]
    assert len(by_id) == expected["REJECTED"]
    assert set(by_id.rambase_error_id) <= {"100089", "108018", "100004"}
    assert by_id[by_id.rambase_error_id == "108018"].rambase_error.str.contains("Currency mismatch").all()
    assert failed[failed.rambase_error_id.isna()].rambase_error.str.startswith("cannot build").all()
    record = sandbox.snapshot()["rambase"]
    assert record["token_grants"] == 1, "the token is cached for the whole run"
    assert record["access_token_in_query"] == 0
    assert record["formats_seen"] == ["json"]
    sent = {p["id"] for p in record["order_puts"]}
    assert sent == {int(i) for i in frame[frame.rambase_error_id.notna() | frame.rambase_status.notna()].purchase_order_id}


def test_an_expired_token_is_renewed_once(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    sandbox = sandbox_with(rambase={"revoke_after_requests": 7})
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url, max_concurrency=1)
    assert str(run("rambase_purchase_orders").state).endswith("success")
    frame = rows(url, "rambase_po_updates")
    assert (frame.rambase_status == "SYNCED").sum() == summary["rambase_po_updates"]["expected"]["SYNCED"]
    assert sandbox.snapshot()["rambase"]["token_grants"] > 2


def test_a_wrong_secret_fails_at_once_and_changes_nothing(erp, files, sandbox_with, monkeypatch):
    url, _ = erp
    sandbox = sandbox_with()
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url, secret="wrong-secret-123")
    before = rows(url, "rambase_po_updates")
    dag_run = run("rambase_purchase_orders")
    assert str(dag_run.state).endswith("failed")
    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert states["load"].endswith("failed")
    assert rows(url, "rambase_po_updates").equals(before)
    assert sandbox.snapshot()["rambase"]["order_puts"] == []


def test_invoice_forwarding_waits_for_running_operations(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    sandbox = sandbox_with(rambase={"polls_to_finish": 1})
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url)

    assert str(run("rambase_invoice_forwarding").state).endswith("success")

    frame = rows(url, "rambase_invoice_matches")
    expected = summary["rambase_invoice_matches"]["expected"]
    assert (frame.forward_status == "FORWARDED").sum() == expected["FORWARDED"]
    errors = frame[frame.rambase_error_id.notna()]
    assert len(errors) == expected["ERROR"]
    assert errors.rambase_error.str.contains("inner errors").all()
    assert frame[frame.supplier_invoice_id.isna()].attempts.eq(0).all(), "unmatched rows are not extracted"
    record = sandbox.snapshot()["rambase"]
    assert set(record["operation_posts"].values()) == {1}, "no operation was POSTed twice"
    forwarded = frame[frame.forward_status == "FORWARDED"]
    assert forwarded.operation_instance_id.notna().all()
    slow = [i for i in record["operation_instances"].values() if i["polls"] > 0]
    assert slow, "some operations were still running and were polled by the trigger"


def test_a_restarted_forwarding_resumes_polling_and_never_posts_twice(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    sandbox = sandbox_with(rambase={"polls_to_finish": 3})
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url)

    # Give up waiting almost at once: the running operations stay on the documents.
    assert str(run("rambase_invoice_forwarding", {"wait_minutes": 0.01}).state).endswith("success")
    frame = rows(url, "rambase_invoice_matches")
    running = frame[frame.forward_status.isna() & frame.operation_instance_id.notna()]
    assert len(running) > 0
    assert (running.attempts == 0).all(), "waiting is not a failed attempt"
    posts_before = sandbox.snapshot()["rambase"]["operation_posts"]

    assert str(run("rambase_invoice_forwarding").state).endswith("success")
    record = sandbox.snapshot()["rambase"]
    assert record["operation_posts"] == posts_before, "resumed operations were polled, not POSTed again"
    frame = rows(url, "rambase_invoice_matches")
    expected = summary["rambase_invoice_matches"]["expected"]
    assert (frame.forward_status == "FORWARDED").sum() == expected["FORWARDED"]


def test_a_lost_answer_is_never_posted_again(erp, files, sandbox_with, monkeypatch):
    url, _ = erp
    sandbox = sandbox_with(faults={"rambase.operations": {"accept_then_drop": 1.0}})
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url, max_tries=2)

    assert str(run("rambase_invoice_forwarding", {"limit": 5}).state).endswith("success")
    frame = rows(url, "rambase_invoice_matches")
    uncertain = frame[frame.operation_requested_at.notna() & frame.operation_instance_id.isna()]
    assert len(uncertain) == 5
    assert uncertain.rambase_error.str.contains("check").all()
    posts = sandbox.snapshot()["rambase"]["operation_posts"]
    assert sum(posts.values()) == 5

    sandbox.set_faults({})
    assert str(run("rambase_invoice_forwarding", {"only_ids": [str(i) for i in uncertain.id]}).state).endswith("success")
    assert sandbox.snapshot()["rambase"]["operation_posts"] == posts


def test_the_hook_masks_its_token_and_sends_db_and_format(sandbox_with, monkeypatch):
    import asyncio

    from erp_outbound.rambase import hook as rambase_hook

    masked = []
    monkeypatch.setattr(rambase_hook, "mask_secret", masked.append)
    sandbox = sandbox_with(rambase={"token_ttl_s": 3600})
    connect_rambase(monkeypatch, sandbox.base_url)
    seen: list[dict] = []

    async def two_puts() -> None:
        async with rambase_hook.RambaseHook().client() as client:
            answer = await client.call("PUT", "procurement/orders/100500", data=b'{"purchaseOrder": {"note": "x"}}',
                                       headers={"Content-Type": "application/json"})
            assert answer.status == 200
            token = await client.auth.cache.current()
            assert client.auth.cache.grants == 1 and token.value in masked
            await client.call("PUT", "procurement/orders/100501", data=b"{}", headers={"Content-Type": "application/json"})
            assert client.auth.cache.grants == 1, "the cached token is reused"
            seen.append({"token": token.value, "headers": dict(client.headers)})

    asyncio.run(two_puts())
    assert "Authorization" not in seen[0]["headers"], "the token goes per request, never into the session headers"
    record = sandbox.snapshot()["rambase"]
    assert record["access_token_in_query"] == 0 and record["formats_seen"] == ["json"]
