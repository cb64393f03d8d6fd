"""Airflow's own DAG parsing finds every DAG of dags/, without import errors."""

from __future__ import annotations

from pathlib import Path

DAGS = Path(__file__).resolve().parents[1] / "dags"
EXPECTED = {"procuros_outgoing", "procuros_tasks", "rambase_purchase_orders", "rambase_invoice_forwarding",
            "gep_por_status"}


def test_the_dag_processor_finds_every_dag():
    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=str(DAGS), safe_mode=True)
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == EXPECTED
    for dag_id in EXPECTED:
        dag = bag.get_dag(dag_id)
        assert Path(dag.fileloc).parent == DAGS, "each DAG points at its own file"
        assert dag.schedule == "*/15 * * * *" and dag.max_active_runs == 1
        assert "dry_run" in dag.params
