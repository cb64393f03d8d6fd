"""Two runs on one backlog, at the same time, on the real PostgreSQL server: nothing sent twice."""

from __future__ import annotations

import re
import time
from collections import Counter

import pytest

from conftest import connect
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_rows import documents
from processes import airflow_home_copy, start_dag

pytestmark = [pytest.mark.airflow, pytest.mark.postgres]


def test_two_simultaneous_runs_share_the_backlog(postgres_url, tmp_path, files, sandbox_with, monkeypatch):
    summary = build_demo_erp(postgres_url, 500, seed=23)
    sandbox = sandbox_with(latency_ms=20)
    connect(monkeypatch, postgres_url, sandbox.base_url, max_concurrency=4)
    # Small chunks: the two runs interleave their claims chunk by chunk. A barrier starts them together.
    barrier = str(tmp_path / "barrier")
    env = {"ERP_OUTBOUND_CHUNK_SIZE": "10", "ERP_OUTBOUND_TEST_BARRIER": barrier}
    runs = [start_dag("procuros_outgoing", {"report_after": 1}, env,
                      airflow_home_copy(tmp_path / f"home{i}"), tmp_path / f"run{i}.log") for i in (1, 2)]
    deadline = time.monotonic() + 120
    while len(list(tmp_path.glob("barrier.*.ready"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    (tmp_path / "barrier.go").touch()
    for process in runs:
        assert process.wait(timeout=600) == 0, (tmp_path / "run1.log").read_text()[-3000:]
    logs = [(tmp_path / f"run{i}.log").read_text() for i in (1, 2)]
    assert all("RUN-STATE success" in log for log in logs)

    record = sandbox.snapshot()["procuros"]
    sends = Counter((t["type"], t["identifier"]) for t in record["transactions"])
    assert max(sends.values()) == 1, [k for k, n in sends.items() if n > 1][:5]
    rows = documents(postgres_url)
    expected = summary["expected_outcomes"]
    assert (rows.status == "TRANSMITTED").sum() == expected["TRANSMITTED"]
    assert (rows.status == "NO_ACTION").sum() == expected["NO_ACTION"]
    assert (rows[rows.status.isna()].attempts == 1).all(), "each failure counted once, by one run"
    # Each document was extracted by exactly one of them, and both took a share.
    extracted = [int(re.search(r"Extracted (\d+) documents", log).group(1)) for log in logs]
    assert sum(extracted) == len(rows) and min(extracted) > 0, extracted
