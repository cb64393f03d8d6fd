"""Procuros task marks: look before marking again, and failed tasks need attention (issue 15, point 8)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from conftest import connect
from test_procuros_tasks import erp, partner_ids, run  # noqa: F401 - the demo ERP fixture

pytestmark = pytest.mark.airflow
SYNC = "SYNC_ENABLED_TRADE_PARTNERS"


def report_of(files) -> dict:
    return json.loads(next((files / "reports").glob("procuros_tasks__*.json")).read_text())


def test_a_task_whose_mark_answer_was_lost_is_listed_not_marked_again(erp, files, sandbox_with, monkeypatch):  # noqa: F811
    tasks = [{"procurosTaskId": "customers-1", "type": "EXPORT_CUSTOMERS"},
             {"procurosTaskId": "sync-1", "type": SYNC, "payload": {"customers": partner_ids(erp, "customer")[:1]}}]
    # Every mark is taken by Procuros and its answer lost.
    sandbox = sandbox_with(procuros={"tasks": tasks}, faults={"procuros.tasks.mark": {"accept_then_drop": 1.0}})
    connect(monkeypatch, erp, sandbox.base_url, max_tries=3)

    assert str(run().state).endswith("success")

    record = sandbox.snapshot()
    assert Counter(m["procurosTaskId"] for m in record["procuros"]["tasks_marked"]) == {"customers-1": 1, "sync-1": 1}
    assert record["procuros"]["tasks_pending"] == []
    rows = {row["task"]: row for row in report_of(files)["items"]}
    assert {rows[t]["outcome"] for t in rows} == {"processed"}


def test_a_task_marked_failed_needs_attention(erp, files, sandbox_with, monkeypatch):  # noqa: F811
    tasks = [{"procurosTaskId": "customers-1", "type": "EXPORT_CUSTOMERS"},
             {"procurosTaskId": "products-1", "type": "EXPORT_PRODUCTS"}]
    sandbox = sandbox_with(procuros={"tasks": tasks})
    connect(monkeypatch, erp, sandbox.base_url)

    assert str(run().state).endswith("success")

    report = report_of(files)
    assert report["totals"]["DELIVERED"] == 1, "only the task handled successfully is delivered"
    assert [f["document_id"] for f in report["failures"]] == ["products-1"]
    assert "unknown task type" in report["failures"][0]["reason"]
    text = next((files / "reports").glob("procuros_tasks__*.html")).read_text()
    assert "No document needs attention" not in text
