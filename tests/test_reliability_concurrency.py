"""Two runs on one backlog, at the same time, on the real PostgreSQL server: nothing sent twice.

The runs interleave by construction (tests/run_dag.py's rendezvous hook): each waits, once it holds
its first claimed chunk, until the other holds one too, so both always take a share; and they start
reconcile together, so two reconciles always overlap.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import bindparam, create_engine, text

from conftest import connect
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_rows import documents
from processes import airflow_home_copy, start_dag, wait_all

pytestmark = [pytest.mark.airflow, pytest.mark.postgres]

SENT = ("DELIVERED", "NO_ACTION", "REJECTED")  # outcomes only a vendor's answer gives


@contextmanager
def logs_on_failure(logs: list[Path]):
    """Any failure prints every run's whole log: CI output alone tells what happened."""
    try:
        yield
    except BaseException:
        for log in logs:
            content = log.read_text(errors="replace") if log.exists() else "(no log)"
            sys.stdout.write(f"\n===== {log.name} =====\n{content}\n===== end of {log.name} =====\n")
        raise


def sent_per_run(url: str) -> dict[str, int]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT run_id, COUNT(*) FROM erp_outbound_verdicts "
                                     "WHERE outcome IN :sent GROUP BY run_id").bindparams(bindparam("sent", SENT, expanding=True)))
            return dict(rows.all())
    finally:
        engine.dispose()


def test_two_simultaneous_runs_share_the_backlog(postgres_url, tmp_path, files, sandbox_with, monkeypatch):
    summary = build_demo_erp(postgres_url, 500, seed=23)
    sandbox = sandbox_with(latency_ms=20)
    connect(monkeypatch, postgres_url, sandbox.base_url, max_concurrency=4)
    meeting = tmp_path / "rendezvous"
    meeting.mkdir()
    env = {"ERP_OUTBOUND_CHUNK_SIZE": "10", "ERP_OUTBOUND_TEST_RENDEZVOUS": str(meeting)}
    now = datetime.now(timezone.utc)
    logs = [tmp_path / f"run{i}.log" for i in (1, 2)]
    runs = [start_dag("procuros_outgoing", {"report_after": 1}, env, airflow_home_copy(tmp_path / f"home{i}"),
                      logs[i - 1], run_after=now - timedelta(seconds=i)) for i in (1, 2)]

    with logs_on_failure(logs):
        assert wait_all(runs, timeout=600) == [0, 0]
        texts = [log.read_text() for log in logs]
        assert all("RUN-STATE success" in t for t in texts)
        run_ids = [re.search(r"^RUN-ID (\S+)$", t, re.M).group(1) for t in texts]
        assert run_ids[0] != run_ids[1]
        # The rendezvous happened: both held a chunk before either went on; both reconciled at once.
        for step in ("claimed", "reconcile"):
            assert len(list(meeting.glob(f"{step}.*"))) == 2, step
            assert all(f"TEST-RENDEZVOUS {step}: all arrived" in t for t in texts), step

        record = sandbox.snapshot()["procuros"]
        sends = Counter((t["type"], t["identifier"]) for t in record["transactions"])
        assert max(sends.values()) == 1, [k for k, n in sends.items() if n > 1][:5]
        rows = documents(postgres_url)
        expected = summary["expected_outcomes"]
        assert (rows.status == "TRANSMITTED").sum() == expected["TRANSMITTED"]
        assert (rows.status == "NO_ACTION").sum() == expected["NO_ACTION"]
        assert (rows[rows.status.isna()].attempts == 1).all(), "each failure counted once, by one run"
        # Each build error reported to Procuros once, though both reconciles ran at the same time.
        reported = Counter((e["transactionType"], e["transactionIdentifier"]) for e in record["errors"])
        assert len(reported) == expected["BUILD_ERROR"] and set(reported.values()) == {1}, reported.most_common(3)

        # Each document was extracted by exactly one of them, and both claimed a share and sent a share.
        # (Each run's first chunk is one of the backlog's first two chunks of 10 ORDERs: with seed 23 both
        # hold documents Procuros answers, so a run that claimed a chunk also sent.)
        extracted = [int(re.search(r"Extracted (\d+) documents", t).group(1)) for t in texts]
        assert sum(extracted) == len(rows) and min(extracted) > 0, extracted
        sent = sent_per_run(postgres_url)
        assert set(sent) == set(run_ids) and min(sent.values()) > 0, sent
        assert sum(sent.values()) == len(record["transactions"]), (sent, len(record["transactions"]))
