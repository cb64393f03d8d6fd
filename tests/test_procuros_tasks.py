"""The procuros_tasks DAG: exports, enabled trade partners, pagination, failures, re-runs."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlalchemy import create_engine

from conftest import connect
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_outbound.erp.hook import make_engine
from erp_outbound.procuros.tasks import handle

SYNC = "SYNC_ENABLED_TRADE_PARTNERS"


def flags(url: str) -> dict[str, bool]:
    engine = create_engine(url)
    with engine.connect() as conn:
        frame = pd.read_sql("SELECT id, via_procuros FROM partners WHERE kind IN ('customer', 'supplier')", conn)
    engine.dispose()
    return {row.id: bool(row.via_procuros) for row in frame.itertuples()}


def partner_ids(url: str, kind: str) -> list[str]:
    engine = create_engine(url)
    with engine.connect() as conn:
        ids = [r[0] for r in conn.exec_driver_sql(f"SELECT id FROM partners WHERE kind = '{kind}' ORDER BY id")]
    engine.dispose()
    return ids


@pytest.fixture
def erp(tmp_path):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 60, seed=8)
    return url


def run(conf=None):
    return load_dag("procuros_tasks").test(run_conf=conf or {})


def marks(sandbox) -> dict[str, dict]:
    return {m["procurosTaskId"]: m for m in sandbox.snapshot()["procuros"]["tasks_marked"]}


# -- handling, without Airflow -------------------------------------------------------

@pytest.mark.parametrize("task_type, kind, schema", [
    ("EXPORT_CUSTOMERS", "customer", "ExportCustomersResult"),
    ("EXPORT_SUPPLIERS", "supplier", "ExportSuppliersResult"),
])
def test_exports_list_every_partner_and_validate_against_the_spec(erp, procuros_spec, task_type, kind, schema):
    outcome = handle({"procurosTaskId": "t1", "type": task_type}, make_engine(erp))
    body = json.loads(outcome.body)
    assert body["success"] is True and outcome.success
    result = body["result"]
    assert [p["systemIdentifier"] for p in result] == partner_ids(erp, kind)
    assert outcome.partners == len(result)
    assert procuros_spec.errors(schema, result) == []
    first = result[0]
    assert first["mainParty"]["identifiers"]
    assert {i["domain"] for p in result for i in p["mainParty"]["identifiers"]} <= {
        "GS1", "VAT_DE", "DUNS", "SENDER_INTERNAL"}
    if kind == "customer":
        with_ship_to = [p for p in result if p.get("additionalParties", {}).get("shipTo")]
        assert with_ship_to, "demo customers have delivery addresses"
        assert all(set(p["additionalParties"]) <= {"shipTo", "billTo", "payTo"} for p in result if "additionalParties" in p)


def test_partners_without_identifiers_are_exported_with_their_erp_id(erp, procuros_spec):
    result = json.loads(handle({"procurosTaskId": "t", "type": "EXPORT_CUSTOMERS"}, make_engine(erp)).body)["result"]
    internal = [p for p in result if p["mainParty"]["identifiers"][0]["domain"] == "SENDER_INTERNAL"]
    assert internal, "the demo ERP has customers without GLN, VAT id or DUNS"
    assert all(p["mainParty"]["identifiers"][0]["identifier"] == p["systemIdentifier"] for p in internal)


@pytest.mark.parametrize("supplier_key", ["suppliers", "supplier"])
def test_sync_sets_exactly_the_listed_partners_and_reports_unknown_ids(erp, supplier_key):
    customers, suppliers = partner_ids(erp, "customer"), partner_ids(erp, "supplier")
    engine = make_engine(erp)
    handle({"procurosTaskId": "t0", "type": SYNC, "payload": {"customers": customers[:5], "suppliers": suppliers}}, engine)
    task = {"procurosTaskId": "t1", "type": SYNC,
            "payload": {"customers": customers[1:3] + ["KU-0000"], supplier_key: suppliers[:1]}}
    outcome = handle(task, engine)
    assert outcome.success and outcome.partners == 3
    assert outcome.unknown == ["customer KU-0000"]
    enabled = {pid for pid, on in flags(erp).items() if on}
    assert enabled == set(customers[1:3]) | {suppliers[0]}
    # Handling the same task again (after a crash) changes nothing.
    again = handle(task, engine)
    assert again.success and {pid for pid, on in flags(erp).items() if on} == enabled


@pytest.mark.parametrize("task, reason", [
    ({"procurosTaskId": "x", "type": "EXPORT_PRODUCTS"}, "unknown task type"),
    ({"procurosTaskId": "y", "type": SYNC}, "no payload"),
    ({"procurosTaskId": "z", "type": SYNC, "payload": {"customers": "KU-1000"}}, "must be a list"),
])
def test_tasks_that_cannot_be_answered_get_success_false_with_the_reason(erp, task, reason):
    before = flags(erp)
    outcome = handle(task, make_engine(erp))
    assert not outcome.success and reason in outcome.reason
    assert json.loads(outcome.body) == {"success": False, "result": [], "errorReason": outcome.reason}
    assert flags(erp) == before


# -- whole runs against the sandbox --------------------------------------------------------

def test_the_dag_drains_every_page_and_marks_every_task(erp, files, sandbox_with, monkeypatch, procuros_spec):
    customers = partner_ids(erp, "customer")
    tasks = [{"procurosTaskId": "customers-1", "type": "EXPORT_CUSTOMERS"},
             {"procurosTaskId": "suppliers-1", "type": "EXPORT_SUPPLIERS"},
             {"procurosTaskId": "sync-1", "type": SYNC,
              "payload": {"customers": customers[:2] + ["KU-0000"], "supplier": []}},
             {"procurosTaskId": "products-1", "type": "EXPORT_PRODUCTS"},
             {"procurosTaskId": "customers-2", "type": "EXPORT_CUSTOMERS"}]
    sandbox = sandbox_with(procuros={"tasks": tasks})
    connect(monkeypatch, erp, sandbox.base_url)

    dag_run = run({"per_page": 2})

    assert str(dag_run.state).endswith("success")
    record = sandbox.snapshot()
    assert record["requests"]["procuros.tasks"] == 3  # 5 tasks, 2 per page
    marked = marks(sandbox)
    assert len(marked) == 5 and record["procuros"]["tasks_pending"] == []
    assert marked["products-1"]["success"] is False
    assert marked["sync-1"]["success"] is True
    for task_id, schema in [("customers-1", "ExportCustomersResult"), ("customers-2", "ExportCustomersResult"),
                            ("suppliers-1", "ExportSuppliersResult")]:
        assert marked[task_id]["success"] is True
        assert len(marked[task_id]["result"]) > 0
        assert procuros_spec.errors(schema, marked[task_id]["result"]) == []
    assert {pid for pid, on in flags(erp).items() if on} == set(customers[:2])

    report = json.loads(next((files / "reports").glob("procuros_tasks__*.json")).read_text())
    rows = {row["type"]: row for row in report["items"]}
    assert rows["SYNC_ENABLED_TRADE_PARTNERS"]["unknown"] == "customer KU-0000"
    assert rows["EXPORT_PRODUCTS"]["outcome"] == "marked failed"
    assert any("not in the ERP" in note for note in report["notes"])


def test_a_procuros_failure_leaves_tasks_unmarked_and_a_rerun_is_harmless(erp, files, sandbox_with, monkeypatch):
    customers = partner_ids(erp, "customer")
    sync = {"type": SYNC, "payload": {"customers": customers[:3], "suppliers": []}}
    sandbox = sandbox_with(procuros={"tasks": [sync, {"type": "EXPORT_CUSTOMERS"}]},
                           faults={"procuros.tasks.mark": {"error_503": 1.0}})
    connect(monkeypatch, erp, sandbox.base_url, max_tries=2)

    assert str(run().state).endswith("success")
    assert marks(sandbox) == {}
    assert len(sandbox.snapshot()["procuros"]["tasks_pending"]) == 2
    enabled = {pid for pid, on in flags(erp).items() if on}
    assert enabled == set(customers[:3])
    report = json.loads(next((files / "reports").glob("procuros_tasks__*.json")).read_text())
    assert {row["outcome"] for row in report["items"]} == {"NOT marked: comes back next run"}

    sandbox.set_faults({})
    assert str(run().state).endswith("success")
    assert len(marks(sandbox)) == 2
    assert {pid for pid, on in flags(erp).items() if on} == enabled


def test_dry_run_changes_no_flag_and_marks_nothing(erp, files, sandbox_with, monkeypatch):
    customers = partner_ids(erp, "customer")
    sandbox = sandbox_with(procuros={"tasks": [{"type": SYNC, "payload": {"customers": customers, "suppliers": []}}]})
    connect(monkeypatch, erp, sandbox.base_url)
    before = flags(erp)
    assert str(run({"dry_run": True}).state).endswith("success")
    assert flags(erp) == before
    assert marks(sandbox) == {}
