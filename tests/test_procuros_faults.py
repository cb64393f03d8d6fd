"""Vendor and network failures never give a document a status or count an attempt.

Whole DAG runs against a sandbox with injected faults, then the ERP rows.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from conftest import connect
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_rows import documents

pytestmark = pytest.mark.airflow

# Connection extras: more tries than a test sends before the outage breaker may open.
BREAKER_NEVER_OPENS = {"breaker_window": 10_000, "breaker_min_tries": 10_000}


def run(conf=None):
    return load_dag("procuros_outgoing").test(run_conf=conf or {})


def report(files: Path) -> dict:
    latest = max((files / "reports").glob("procuros_outgoing__*.json"), key=lambda p: p.stat().st_mtime)
    return json.loads(latest.read_text())


@pytest.fixture
def erp(tmp_path):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    return url, build_demo_erp(url, 40, seed=21)


def test_vendor_errors_leave_documents_untouched_and_the_run_says_so(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    sandbox = sandbox_with(faults={"procuros.transactions": {"error_503": 1.0}})
    # The outage breaker would stop the sending after 20 failed tries (its own test is below): set so it
    # never opens here, every document gets its max_tries.
    connect(monkeypatch, url, sandbox.base_url, max_tries=2, **BREAKER_NEVER_OPENS)

    assert str(run().state).endswith("success")

    rows = documents(url)
    buildable = rows[~rows.last_error.fillna("").str.startswith("cannot build")]
    assert buildable.status.isna().all()
    assert (buildable.attempts == 0).all()
    assert buildable.error_url.isna().all()
    assert sandbox.snapshot()["requests"]["procuros.transactions"] == 2 * len(buildable)  # each tried twice
    result = report(files)
    assert result["totals"]["DEFERRED"] == len(buildable)
    assert any("no final answer" in note for note in result["notes"])


def test_rate_limits_are_retried_honouring_retry_after(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    sandbox = sandbox_with(retry_after_s=0, seed=3,
                           faults={"procuros.transactions": {"rate_limit": 0.3, "rate_limit_no_header": 0.1}})
    # One request at a time: the seeded faults fall on the same requests every run (with several in
    # flight they follow the arrival order, and a document could, rarely, draw 12 limits in a row).
    connect(monkeypatch, url, sandbox.base_url, max_tries=12, max_concurrency=1)

    assert str(run().state).endswith("success")

    record = sandbox.snapshot()
    assert record["fault_totals"].get("rate_limit", 0) > 0
    rows = documents(url)
    expected = summary["expected_outcomes"]
    assert (rows.status == "TRANSMITTED").sum() == expected["TRANSMITTED"]
    assert (rows.status == "NO_ACTION").sum() == expected["NO_ACTION"]
    assert report(files)["totals"]["DEFERRED"] == 0


def test_a_lost_answer_is_decided_by_asking_procuros(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    # Procuros takes every document, but the connection drops before the answer arrives.
    sandbox = sandbox_with(faults={"procuros.transactions": {"accept_then_drop": 1.0}})
    connect(monkeypatch, url, sandbox.base_url, max_tries=1, **BREAKER_NEVER_OPENS)  # every answer lost: all sent
    assert str(run().state).endswith("success")
    # No answer, so Procuros was asked (GET /v2/all-transactions): its status decides, 202s included.
    record = sandbox.snapshot()
    ledger = {(t["type"], t["identifier"]): t for t in record["procuros"]["ledger"]}
    assert ledger and record["requests"]["procuros.all_transactions"] >= 1
    rows = documents(url)
    taken = rows[[(r.doc_type, r.number) in ledger for r in rows.itertuples()]]
    assert len(taken) == len(ledger)
    for row in taken.itertuples():
        tx = ledger[(row.doc_type, row.number)]
        assert row.status == {"SUCCESS": "TRANSMITTED", "DROPPED": "NO_ACTION"}[tx["status"]], row
        assert (row.procuros_transaction_id, row.procuros_status) == (tx["procurosTransactionId"], tx["status"])
        assert row.attempts == 0
    assert (taken.status == "NO_ACTION").sum() == summary["expected_outcomes"]["NO_ACTION"]
    sends = Counter((t["type"], t["identifier"]) for t in record["procuros"]["transactions"])
    assert set(sends.values()) == {1}, "nothing was sent twice"


def test_a_503_on_ping_does_not_defer_the_run(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    # One try only, and every ping fails: the first check gives up, yet each document's own request decides.
    sandbox = sandbox_with(faults={"procuros.ping": {"error_503": 1.0}})
    connect(monkeypatch, url, sandbox.base_url, max_tries=1)

    assert str(run().state).endswith("success")

    assert sandbox.snapshot()["requests"]["procuros.ping"] == 1
    rows = documents(url)
    expected = summary["expected_outcomes"]
    assert (rows.status == "TRANSMITTED").sum() == expected["TRANSMITTED"] > 0
    assert report(files)["totals"]["DEFERRED"] == 0


def test_an_outage_leaves_the_rest_unsent(erp, files, sandbox_with, monkeypatch):
    url, summary = erp
    # Procuros answers nothing but 503: after the first check gave up, the first document that fails every
    # try ends the sending; the others stay untouched without a request each.
    sandbox = sandbox_with(faults={"procuros.*": {"error_503": 1.0}})
    connect(monkeypatch, url, sandbox.base_url, max_tries=2, max_concurrency=1)

    assert str(run().state).endswith("success")

    rows = documents(url)
    buildable = rows[~rows.last_error.fillna("").str.startswith("cannot build")]
    assert buildable.status.isna().all() and (buildable.attempts == 0).all()
    assert sandbox.snapshot()["requests"]["procuros.transactions"] < 2 * len(buildable)


@pytest.fixture
def larger_erp(tmp_path):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    return url, build_demo_erp(url, 150, seed=23)


def test_random_faults_at_one_try_never_end_a_run_early(larger_erp, files, sandbox_with, monkeypatch):
    url, summary = larger_erp
    # The first check fails (every ping 503), then 30% of the documents' first attempts fail (429, 500, 503)
    # and each document has one try: unlucky documents are left for the next run, the others all go.
    first_attempts = {"share": 0.3, "kinds": ["rate_limit", "error_500", "error_503"],
                      "endpoints": ["procuros.transactions"]}
    sandbox = sandbox_with(faults={"procuros.ping": {"error_503": 1.0}},
                           pressure={"first_attempt_faults": first_attempts})
    connect(monkeypatch, url, sandbox.base_url, max_tries=1, max_concurrency=4)

    assert str(run().state).endswith("success")

    rows = documents(url)
    buildable = rows[~rows.last_error.fillna("").str.startswith("cannot build")]
    record = sandbox.snapshot()
    faulted = sum(record["pressure"]["first_attempt_faults"].get("procuros.transactions", {}).values())
    assert record["requests"]["procuros.transactions"] == len(buildable) > 100  # every document tried once
    assert 0.2 * len(buildable) < faulted < 0.4 * len(buildable)
    result = report(files)
    assert result["totals"]["DEFERRED"] == faulted
    answered = buildable.status.notna() | (buildable.attempts > 0)  # delivered, or refused by Procuros
    assert answered.sum() == len(buildable) - faulted
    assert not any("not sent" in note for note in result["notes"])


def test_an_outage_mid_run_stops_the_sending_within_a_few_tries(larger_erp, files, sandbox_with, monkeypatch):
    url, summary = larger_erp
    # The first check passes, then every document's request fails: the breaker opens once 20 tries failed
    # (breaker_min_tries); what was in flight ends, the rest is left untouched, unsent, however many tries
    # a document would have had.
    sandbox = sandbox_with(faults={"procuros.transactions": {"error_503": 1.0}})
    connect(monkeypatch, url, sandbox.base_url, max_tries=10, max_concurrency=4)

    assert str(run().state).endswith("success")

    rows = documents(url)
    buildable = rows[~rows.last_error.fillna("").str.startswith("cannot build")]
    assert buildable.status.isna().all() and (buildable.attempts == 0).all()
    assert sandbox.snapshot()["requests"]["procuros.transactions"] <= 20 + 4  # breaker_min_tries + in flight
    result = report(files)
    assert result["totals"]["DEFERRED"] == len(buildable)
    assert any("the vendor looked down and sending stopped" in note for note in result["notes"])
