"""A load step killed with SIGKILL mid-batch loses nothing and sends nothing twice.

The DAG runs in a real separate process, which is killed while it is sending. The next
run applies what the dead one recorded, and every lost answer is recognised by Procuros
as "Payload already received".
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter

import pytest
from sqlalchemy import create_engine, func, select

from conftest import connect
from erp_outbound.erp.state import claims, utcnow
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_rows import documents
from processes import airflow_home_copy, start_dag

pytestmark = pytest.mark.airflow


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def hold_answers_from(sandbox, n: int):
    """From the n-th transaction on, Procuros takes each one, but its answer does not leave for an hour.

    The load step is then surely in the middle of sending (with answers the vendor gave and the worker
    never heard) when it is killed, however slow the machine. Returns the function that ends the hold.
    """
    injector = sandbox.record.injector
    draw, latency = injector.draw, injector.latency_s

    def draw_then_hold(endpoint):
        fault = draw(endpoint)
        if endpoint == "procuros.transactions" and injector.requests[endpoint] >= n:
            injector.latency_s = 3600.0  # read once the request was processed: its answer waits
        return fault

    def release():
        del injector.draw
        injector.latency_s = latency

    sandbox.call(setattr, injector, "draw", draw_then_hold)
    return lambda: sandbox.call(release)


def live_claims(url: str) -> int:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(claims)
                                .where(claims.c.lease_until >= utcnow())).scalar()
    finally:
        engine.dispose()


def test_sigkill_during_load_then_a_new_run(tmp_path, files, sandbox_with, monkeypatch):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    summary = build_demo_erp(url, 400, seed=17)
    sandbox = sandbox_with(latency_ms=40)
    # A held answer is waited for (no timeout, no retry) until the kill.
    connect(monkeypatch, url, sandbox.base_url, max_concurrency=4, timeout=3600)
    monkeypatch.setenv("ERP_OUTBOUND_CLAIM_LEASE_SECONDS", "3")
    release = hold_answers_from(sandbox, 80)

    child = start_dag("procuros_outgoing", {"report_after": 1}, {}, airflow_home_copy(tmp_path / "home"),
                      tmp_path / "child.log")
    try:
        # Kill once each of the 4 senders waits for a held answer: nothing is left on the way to Procuros
        # (a request arriving after the kill would look like the new run's).
        wait_for(lambda: len(sandbox.snapshot()["procuros"]["transactions"]) >= 80 + 3, 300,
                 "every sender to wait for a held answer")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL, (tmp_path / "child.log").read_text()[-3000:]
    sent_before_kill = len(sandbox.snapshot()["procuros"]["transactions"])
    total = sum(summary["documents_by_type"].values())
    assert sent_before_kill == 80 + 3 < total, "the kill came in the middle of the load step"

    wait_for(lambda: live_claims(url) == 0, 60, "the dead run's claims to expire")
    release()
    dag_run = load_dag("procuros_outgoing").test(run_conf={"report_after": 1})
    assert str(dag_run.state).endswith("success")

    record = sandbox.snapshot()["procuros"]
    rows = documents(url)
    expected = summary["expected_outcomes"]
    assert (rows.status == "TRANSMITTED").sum() == expected["TRANSMITTED"]
    assert (rows.status == "NO_ACTION").sum() == expected["NO_ACTION"]
    # Taken once by Procuros each; any second send was answered "Payload already received".
    assert set(record["accepted"].values()) == {1}
    resent = Counter((t["type"], t["identifier"]) for t in record["transactions"])
    for (doc_type, identifier), count in resent.items():
        if count > 1:
            codes = [t["status_code"] for t in record["transactions"] if t["identifier"] == identifier]
            assert set(codes) <= {201, 202, 400, 422}, codes
    # Rejections count once per answer heard, never for the crash: every answer of the new run
    # counts; an answer Procuros gave while the killed worker waited for it was never heard.
    rejected = rows[rows.error_url.notna() & rows.error_url.str.contains("/portal/")
                    & ~rows.last_error.fillna("").str.startswith("cannot build")]
    for row in rejected.itertuples():
        def refusals(transactions):
            return sum(t["identifier"] == row.number and t["status_code"] == 422 for t in transactions)
        before, after = (refusals(record["transactions"][:sent_before_kill]),
                         refusals(record["transactions"][sent_before_kill:]))
        assert after <= row.attempts <= before + after, row
    report = json.loads(max((files / "reports").glob("procuros_outgoing__*.json"),
                            key=lambda p: p.stat().st_mtime).read_text())
    assert any("earlier interrupted run" in note for note in report["notes"]) or sent_before_kill == 0
