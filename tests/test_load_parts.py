"""A large backlog is split over mapped load tasks; every batch and build error goes exactly once."""

from __future__ import annotations

import pytest

from erp_outbound.steps.transform import load_parts


def batch(n: int, count: int) -> dict:
    return {"doc_type": "ORDER", "ref": f"order-{n:05d}.parquet", "count": count}


def test_batches_split_into_parts_of_about_the_load_task_size():
    batches = [batch(n, 5000) for n in range(9)]
    parts = load_parts(batches, ["errors.jsonl"], size=20000)
    assert [sum(b["count"] for b in p["batches"]) for p in parts] == [20000, 20000, 5000]
    assert [b for p in parts for b in p["batches"]] == batches  # each once, in order
    assert [p["build_errors"] for p in parts] == [["errors.jsonl"], [], []]


def test_there_is_always_one_part_so_build_errors_are_recorded():
    assert load_parts([], ["errors.jsonl"], size=20000) == [{"batches": [], "build_errors": ["errors.jsonl"]}]


def test_a_batch_larger_than_the_part_size_is_never_split_or_dropped():
    parts = load_parts([batch(0, 50), batch(1, 50)], [], size=10)
    assert [len(p["batches"]) for p in parts] == [1, 1]


def test_reconcile_adds_up_the_mapped_load_tasks_results():
    from erp_outbound.steps.reconcile import load_results, merged_load_results

    results = [{"answered": 3, "deferred": 1, "skipped_claims": 0}, None, {"answered": 2, "deferred": 0,
                                                                        "skipped_claims": 4}]
    assert len(load_results(results)) == 2  # the failed task left none
    assert merged_load_results(results) == {"answered": 5, "deferred": 1, "skipped_claims": 4}
    assert load_results({"answered": 1}) == [{"answered": 1}]
    assert load_results(None) == []
    previews = [{"would_send": 2, "preview": "a.jsonl"}, {"would_send": 3, "preview": "b.jsonl"}]
    assert merged_load_results(previews) == {"would_send": 5, "preview": "a.jsonl, b.jsonl"}


def test_reconcile_fails_the_run_when_one_mapped_load_task_failed():
    from erp_outbound.steps.reconcile import ReconcileOperator

    reconcile = ReconcileOperator(task_id="reconcile", vendor="procuros", extracted={"chunks": []},
                                  built=load_parts([batch(n, 10) for n in range(3)], [], size=10),
                                  delivered=[{"answered": 1}, {"answered": 2}])
    assert reconcile._a_step_failed()
    reconcile.delivered = [{"answered": 1}, {"answered": 2}, {"answered": 0}]
    assert not reconcile._a_step_failed()
    reconcile.built = None  # transform failed
    assert reconcile._a_step_failed()


@pytest.mark.airflow
def test_a_backlog_split_over_mapped_load_tasks_is_sent_once_and_reconciled(tmp_path, files, sandbox, monkeypatch):
    from collections import Counter

    from conftest import connect
    from erp_outbound_tools.demo.run import load_dag
    from erp_outbound_tools.demo.erp import build_demo_erp
    from test_procuros_dag import assert_verdicts_match_sandbox

    url = f"sqlite:///{tmp_path / 'erp.db'}"
    summary = build_demo_erp(url, 80, seed=9)
    connect(monkeypatch, url, sandbox.base_url)
    monkeypatch.setenv("ERP_OUTBOUND_CHUNK_SIZE", "10")
    monkeypatch.setenv("ERP_OUTBOUND_LOAD_TASK_SIZE", "20")

    dag_run = load_dag("procuros_outgoing").test(run_conf={"report_after": 1})

    assert str(dag_run.state).endswith("success")
    loads = [ti for ti in dag_run.get_task_instances() if ti.task_id == "load"]
    assert len(loads) >= 4 and all(str(ti.state).endswith("success") for ti in loads)
    record = sandbox.snapshot()
    sends = Counter((t["type"], t["identifier"]) for t in record["procuros"]["transactions"])
    assert max(sends.values()) == 1
    assert assert_verdicts_match_sandbox(url, record, sandbox.base_url) == summary["expected_outcomes"]


@pytest.mark.airflow
def test_a_failed_load_task_still_reconciles_what_the_others_delivered_and_fails_the_run(tmp_path, files, sandbox,
                                                                                        monkeypatch):
    """Reconcile reads the load results through an XComArg: the failed part left none, the others count."""
    from conftest import connect
    from erp_outbound.procuros.operators import ProcurosSendTransactionsOperator
    from erp_outbound_tools.demo.run import load_dag
    from erp_outbound_tools.demo.erp import build_demo_erp
    from erp_rows import documents

    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 80, seed=9)
    connect(monkeypatch, url, sandbox.base_url)
    monkeypatch.setenv("ERP_OUTBOUND_CHUNK_SIZE", "10")
    monkeypatch.setenv("ERP_OUTBOUND_LOAD_TASK_SIZE", "20")
    execute = ProcurosSendTransactionsOperator.execute

    def second_part_dies(self, context):
        if context["ti"].map_index == 1:
            raise RuntimeError("worker lost")
        return execute(self, context)

    monkeypatch.setattr(ProcurosSendTransactionsOperator, "execute", second_part_dies)

    dag_run = load_dag("procuros_outgoing").test(run_conf={"report_after": 1})

    states = {(ti.task_id, ti.map_index): str(ti.state) for ti in dag_run.get_task_instances()}
    assert states[("load", 1)].endswith("failed") and states[("load", 0)].endswith("success")
    assert states[("reconcile", -1)].endswith("failed")  # it ran, applied what was recorded, then failed the run
    sent = {t["identifier"] for t in sandbox.snapshot()["procuros"]["transactions"]}
    rows = documents(url)
    assert sent and set(rows[rows["status"].notna()]["number"]) <= sent
    answered = rows[rows["number"].isin(sent)]
    assert (answered["status"].notna() | answered["last_error"].notna()).all()  # every answer was written back
    assert rows[~rows["number"].isin(sent)]["status"].isna().all()  # the failed part's documents stay pending


@pytest.mark.airflow
def test_a_failed_transform_still_reconciles_and_fails_the_run(tmp_path, files, sandbox, monkeypatch):
    from conftest import connect
    from erp_outbound.steps.transform import BuildPayloadsOperator
    from erp_outbound_tools.demo.run import load_dag
    from erp_outbound_tools.demo.erp import build_demo_erp
    from erp_rows import documents

    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 20, seed=9)
    connect(monkeypatch, url, sandbox.base_url)

    def dies(self, context):
        raise RuntimeError("transform died")

    monkeypatch.setattr(BuildPayloadsOperator, "execute", dies)

    dag_run = load_dag("procuros_outgoing").test(run_conf={})

    states = {ti.task_id: str(ti.state) for ti in dag_run.get_task_instances()}
    assert states["transform"].endswith("failed") and states["reconcile"].endswith("failed")
    assert sandbox.snapshot()["procuros"]["transactions"] == []
    assert documents(url)["status"].isna().all()
    # Reconcile ran (not failed rendering its inputs): it wrote the run report, then failed the run.
    assert len(list((files / "reports").glob("procuros_outgoing__*.json"))) == 1
