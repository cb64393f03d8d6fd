"""The storm: about 1,000 documents across the three vendors with about 30% injected faults.

The DAGs run until nothing deliverable is pending (a bounded number of runs). Then the
sandbox's own record and the ERP rows must agree: everything deliverable delivered,
duplicates only where the vendor recognises them, no RamBase operation POSTed twice,
and every status, error link and attempt count right.
"""

from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest
from sqlalchemy import create_engine

from conftest import connect, connect_gep, connect_rambase
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_rows import documents

pytestmark = pytest.mark.airflow

MAX_RUNS = 8
# Faults a vendor may throw at any request: ~30% in all.
STORM = {"rate_limit": 0.06, "rate_limit_no_header": 0.03, "error_500": 0.04, "error_502": 0.02,
         "error_503": 0.03, "reset": 0.03, "accept_then_drop": 0.04, "html_error": 0.02,
         "truncated_json": 0.02, "empty_200": 0.01}
FAULTS = {
    "procuros.transactions": STORM,
    "procuros.errors": {"error_503": 0.2, "rate_limit": 0.1},
    "rambase.orders": STORM,
    # Operation POSTs are not idempotent: here only the faults after which RamBase surely did
    # not run them (429, 503). Lost answers to operation POSTs have their own test.
    "rambase.operations": {"rate_limit": 0.15, "error_503": 0.15},
    "rambase.operation_instances": {"error_500": 0.15, "reset": 0.1, "truncated_json": 0.05},
    "gep.status": STORM,
}
# Faults after which the vendor had processed the request but the client never read its answer.
ANSWER_LOST = {"accept_then_drop", "truncated_json", "empty_200", "slow"}
DAGS = {"procuros_outgoing": {"report_after": 1}, "rambase_purchase_orders": {},
        "rambase_invoice_forwarding": {}, "gep_por_status": {"batch_size": 20}}


def table(url: str, name: str) -> pd.DataFrame:
    engine = create_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql(f"SELECT * FROM {name} ORDER BY id", conn)
    engine.dispose()
    return frame.astype(object).where(frame.notna(), None)


def pending(url: str, summary: dict) -> dict[str, int]:
    """Deliverable documents still waiting, per DAG."""
    procuros = documents(url)
    po = table(url, "rambase_po_updates")
    forwarding = table(url, "rambase_invoice_matches")
    gep = table(url, "gep_por_statuses")
    expected = summary["expected_outcomes"]
    # A refusal whose answer was lost in a round is heard in a later one: until then it counts as waiting.
    return {
        "procuros_outgoing": expected["TRANSMITTED"] + expected["NO_ACTION"] - procuros.status.notna().sum(),
        "rambase_purchase_orders": summary["rambase_po_updates"]["expected"]["SYNCED"]
        - (po.rambase_status == "SYNCED").sum()
        + summary["rambase_po_updates"]["expected"]["REJECTED"] - po.rambase_error_id.notna().sum(),
        "rambase_invoice_forwarding": summary["rambase_invoice_matches"]["expected"]["FORWARDED"]
        - (forwarding.forward_status == "FORWARDED").sum(),
        "gep_por_status": summary["gep_por_statuses"]["expected"]["ACKNOWLEDGED"]
        - (gep.ack_status == "ACKNOWLEDGED").sum()
        + summary["gep_por_statuses"]["expected"]["ERRORED"]
        - gep.ack_errors.fillna("").str.contains("Invalid Order Number").sum(),
    }


def test_storm(tmp_path, files, sandbox_with, monkeypatch):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    summary = build_demo_erp(url, 650, seed=29)  # with the seven later types (26 each) and the RamBase/GEP rows
    documents_total = (sum(summary["documents_by_type"].values()) + summary["rambase_po_updates"]["rows"]
                       + summary["rambase_invoice_matches"]["rows"] + summary["gep_por_statuses"]["rows"])
    assert 900 <= documents_total <= 1100
    sandbox = sandbox_with(seed=5, retry_after_s=0, faults=FAULTS, rambase={"polls_to_finish": 1})
    tuning = {"max_tries": 2, "timeout": 5}
    connect(monkeypatch, url, sandbox.base_url, **tuning)
    connect_rambase(monkeypatch, sandbox.base_url, **tuning)
    connect_gep(monkeypatch, sandbox.base_url, **tuning)

    runs = 0
    while any(n > 0 for n in pending(url, summary).values()):
        assert runs < MAX_RUNS, f"still pending after {runs} rounds: {pending(url, summary)}"
        for dag_id, conf in DAGS.items():
            if pending(url, summary)[dag_id] > 0:
                assert str(load_dag(dag_id).test(run_conf=conf).state).endswith("success")
        runs += 1

    record = sandbox.snapshot()
    injected = sum(record["fault_totals"].values())
    requests_made = sum(record["requests"].values())
    print(f"\nSTORM: {documents_total} documents, {requests_made} requests, {injected} faults injected "
          f"({injected / requests_made:.0%}), {runs} rounds of runs, faults: {record['fault_totals']}")
    assert injected / requests_made > 0.15

    # Procuros: each document taken once; every resend was recognised ("Payload already received").
    procuros = record["procuros"]
    assert set(procuros["accepted"].values()) == {1}
    sends = Counter(t["identifier"] for t in procuros["transactions"])
    duplicates = [t for t in procuros["transactions"] if t["status_code"] == 400]
    print(f"STORM: Procuros duplicates recognised: {len(duplicates)}; "
          f"documents sent more than once: {sum(1 for n in sends.values() if n > 1)}")
    rows = documents(url)
    expected = summary["expected_outcomes"]
    assert rows.status.notna().sum() == expected["TRANSMITTED"] + expected["NO_ACTION"]
    assert (rows[rows.status.notna()].attempts == 0).all()
    # A 202 whose answer was lost is NO_ACTION too: Procuros' own record (all-transactions) decides.
    # Every document with a status carries its transaction id.
    by_number = rows.set_index("number")
    for t in procuros["transactions"]:
        if t["status_code"] == 202:
            assert by_number.loc[t["identifier"], "status"] == "NO_ACTION", t
    assert rows[rows.status.notna()].procuros_transaction_id.notna().all()
    for row in rows[rows.status.isna()].itertuples():
        rejections = [t for t in procuros["transactions"] if t["identifier"] == row.number
                      and t["status_code"] == 422 and t["fault"] not in ANSWER_LOST]
        lost = [t for t in procuros["transactions"] if t["identifier"] == row.number and t["fault"] in ANSWER_LOST]
        if rejections:  # refused by Procuros: one attempt per refusal we heard, with the portal link
            assert row.attempts == len(rejections), row
            assert row.error_url and "/portal/errors/" in row.error_url
        elif lost:  # refused, but every answer was lost on the way: nothing known, nothing counted
            assert row.attempts == 0 and row.last_error is None, row
        else:  # cannot be built: one attempt per run that could reach Procuros
            assert (row.last_error or "").startswith("cannot build") and 1 <= row.attempts <= runs, row

    # RamBase PUT is idempotent: repeats are harmless; every update landed once at least.
    po = table(url, "rambase_po_updates")
    assert (po.rambase_status == "SYNCED").sum() == summary["rambase_po_updates"]["expected"]["SYNCED"]
    assert (po[po.rambase_status == "SYNCED"].attempts == 0).all()
    rejected = po[po.rambase_error_id.notna()]
    assert len(rejected) == summary["rambase_po_updates"]["expected"]["REJECTED"]

    # RamBase operations: zero repeated POSTs.
    forwarding = table(url, "rambase_invoice_matches")
    posts = record["rambase"]["operation_posts"]
    assert set(posts.values()) == {1}, {k: v for k, v in posts.items() if v > 1}
    assert (forwarding.forward_status == "FORWARDED").sum() == summary["rambase_invoice_matches"]["expected"]["FORWARDED"]
    assert forwarding[forwarding.forward_status == "FORWARDED"].operation_instance_id.notna().all()

    # GEP: acknowledging a status again is harmless; every key decided from the lists.
    gep = table(url, "gep_por_statuses")
    assert (gep.ack_status == "ACKNOWLEDGED").sum() == summary["gep_por_statuses"]["expected"]["ACKNOWLEDGED"]
    assert (gep[gep.ack_status == "ACKNOWLEDGED"].attempts == 0).all()
    errored = gep[gep.ack_errors.fillna("").str.contains("Invalid Order Number")]
    assert len(errored) == summary["gep_por_statuses"]["expected"]["ERRORED"]
