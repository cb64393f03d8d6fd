"""Whole runs of the procuros_outgoing DAG with dag.test(), against the sandbox.

Every assertion reads the ERP rows afterwards and compares them with what the
sandbox says it received and answered.
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


def run(conf: dict | None = None):
    dag_run = load_dag("procuros_outgoing").test(run_conf=conf or {})
    return dag_run


def task_states(dag_run) -> dict[str, str]:
    return {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}


def assert_verdicts_match_sandbox(url: str, record: dict, base_url: str) -> dict:
    """Each ERP row carries exactly the verdict of the sandbox's last answer for it."""
    rows = documents(url)
    last_answer = {(t["type"], t["identifier"]): t["status_code"] for t in record["procuros"]["transactions"]}
    reported = {e["transactionIdentifier"]: e for e in record["procuros"]["errors"]}
    outcomes = {"TRANSMITTED": 0, "NO_ACTION": 0, "REJECTED": 0, "BUILD_ERROR": 0}
    for row in rows.itertuples():
        answer = last_answer.get((row.doc_type, row.number))
        if answer in (201, 400) and row.status == "TRANSMITTED":
            assert row.error_url is None and row.attempts == 0
            outcomes["TRANSMITTED"] += 1
        elif answer == 202:
            assert row.status == "NO_ACTION", row
            assert row.procuros_transaction_id
            assert row.last_error == "Trade relationship not yet active."
            outcomes["NO_ACTION"] += 1
        elif answer == 422:
            assert row.status is None, row
            assert row.error_url.startswith(base_url + "/portal/errors/"), row
            assert "Could not resolve party" in row.last_error
            assert row.attempts >= 1
            outcomes["REJECTED"] += 1
        else:
            assert answer is None, f"{row.number}: answered {answer} but status {row.status}"
            assert row.status is None
            assert row.attempts >= 1, row
            assert row.last_error and ":" in row.last_error  # names the field
            if row.number in reported:
                assert row.error_url and row.error_url.startswith(base_url), row
            outcomes["BUILD_ERROR"] += 1
    return outcomes


def test_demo_erp_end_to_end_on_sqlite(tmp_path, files, sandbox, monkeypatch):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    summary = build_demo_erp(url, 120, seed=3)
    connect(monkeypatch, url, sandbox.base_url)

    dag_run = run({"report_after": 1})
    assert str(dag_run.state).endswith("success")
    record = sandbox.snapshot()
    outcomes = assert_verdicts_match_sandbox(url, record, sandbox.base_url)
    assert outcomes == summary["expected_outcomes"]
    # Every build error was reported once, with errorType DATA and the document's number and type.
    errors = record["procuros"]["errors"]
    assert len(errors) == outcomes["BUILD_ERROR"]
    assert {e["errorType"] for e in errors} == {"DATA"}
    rows = documents(url).set_index("number")
    for error in errors:
        row = rows.loc[error["transactionIdentifier"]]
        assert error["transactionType"] == row.doc_type
        assert row.last_error.startswith("cannot build the payload")

    # The report: a file per run with counts and every failed document with its link.
    report = json.loads(next(Path(files / "reports").glob("procuros_outgoing__*.json")).read_text())
    assert report["totals"]["DELIVERED"] == outcomes["TRANSMITTED"]
    assert report["totals"]["NO_ACTION"] == outcomes["NO_ACTION"]
    assert report["totals"]["REJECTED"] == outcomes["REJECTED"]
    assert report["totals"]["BUILD_ERROR"] == outcomes["BUILD_ERROR"]
    assert all(f["error_url"] for f in report["failures"])
    assert (files / "reports").glob("*.csv")

    # Second run: only documents with an empty Status go again; build errors are not re-reported.
    sent_before = len(record["procuros"]["transactions"])
    assert str(run({"report_after": 1}).state).endswith("success")
    again = sandbox.snapshot()["procuros"]
    resent = again["transactions"][sent_before:]
    assert len(resent) == outcomes["REJECTED"]
    assert all(t["status_code"] == 422 for t in resent)
    assert len(again["errors"]) == len(errors), "an unchanged build error must not be reported again"
    rows = documents(url)
    pending = rows[rows.status.isna()]
    assert (pending.attempts == 2).all()
    assert (rows[rows.status.notna()].attempts == 0).all()


def test_end_to_end_on_postgresql(postgres_url, files, sandbox, monkeypatch):
    summary = build_demo_erp(postgres_url, 80, seed=5)
    connect(monkeypatch, postgres_url, sandbox.base_url)
    assert str(run({"report_after": 1}).state).endswith("success")
    outcomes = assert_verdicts_match_sandbox(postgres_url, sandbox.snapshot(), sandbox.base_url)
    assert outcomes == summary["expected_outcomes"]


def test_dry_run_sends_nothing_and_changes_nothing(tmp_path, files, sandbox, monkeypatch):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    summary = build_demo_erp(url, 60, seed=11)
    connect(monkeypatch, url, sandbox.base_url)
    before = documents(url)
    from erp_outbound.erp.hook import make_engine
    from erp_outbound.erp.migrations import upgrade

    upgrade(make_engine(url))  # the bookkeeping tables exist (a real run made them): a dry run must leave them as they are
    every_table = erp_tables(url)

    assert str(run({"dry_run": True, "report_after": 1}).state).endswith("success")

    assert sandbox.snapshot()["procuros"]["transactions"] == []
    assert sandbox.snapshot()["procuros"]["errors"] == []
    after = documents(url)
    assert before.fillna("").equals(after.fillna(""))
    # Issue 23, point 9: nothing written to the ERP, the bookkeeping tables (erp_outbound_verdicts) included.
    assert erp_tables(url) == every_table
    preview = list((files / "reports").glob("*dry-run-payloads.jsonl"))
    assert len(preview) == 1
    lines = preview[0].read_text().splitlines()
    expected_payloads = sum(summary["documents_by_type"].values()) - summary["expected_outcomes"]["BUILD_ERROR"]
    assert len(lines) == expected_payloads
    assert json.loads(lines[0])["body"]["type"] in summary["documents_by_type"]
    report = json.loads(next((files / "reports").glob("procuros_outgoing__*.json")).read_text())
    assert report["dry_run"] is True
    assert report["totals"]["BUILD_ERROR"] == summary["expected_outcomes"]["BUILD_ERROR"]
    # Issue 23, point 13: the counts name the documents it would send, per type.
    assert sum(report["would_send"].values()) == expected_payloads
    sent_types = Counter(json.loads(line)["body"]["type"] for line in lines)
    assert report["would_send"] == {t: n for t, n in sorted(sent_types.items())}


def erp_tables(url: str) -> dict[str, list]:
    """Every row of every table of a SQLite ERP."""
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as db:
        names = [n for (n,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {n: sorted(map(repr, db.execute(f'SELECT * FROM "{n}"'))) for n in names}


@pytest.mark.parametrize("token", ["wrong-token"])
def test_refused_token_fails_the_run_and_changes_no_document(tmp_path, files, sandbox, monkeypatch, token):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 40, seed=2)
    connect(monkeypatch, url, sandbox.base_url, token=token)
    before = documents(url)

    dag_run = run()

    assert str(dag_run.state).endswith("failed")
    states = task_states(dag_run)
    assert states["load"].endswith("failed")
    assert documents(url).fillna("").equals(before.fillna(""))
    assert sandbox.snapshot()["procuros"]["transactions"] == []


def test_limit_and_document_types(tmp_path, files, sandbox, monkeypatch):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 80, seed=4)
    connect(monkeypatch, url, sandbox.base_url)
    assert str(run({"doc_types": ["INVOICE"], "limit": 5}).state).endswith("success")
    sent = sandbox.snapshot()["procuros"]["transactions"]
    assert {t["type"] for t in sent} == {"INVOICE"}
    rows = documents(url)
    touched = rows[rows.status.notna() | (rows.attempts > 0)]
    assert set(touched.doc_type) == {"INVOICE"}
    assert len(touched) == 5


def test_end_to_end_on_mariadb(mariadb_url, files, sandbox, monkeypatch):
    summary = build_demo_erp(mariadb_url, 60, seed=6)
    connect(monkeypatch, mariadb_url, sandbox.base_url)
    assert str(run({"report_after": 1}).state).endswith("success")
    outcomes = assert_verdicts_match_sandbox(mariadb_url, sandbox.snapshot(), sandbox.base_url)
    assert outcomes == summary["expected_outcomes"]
