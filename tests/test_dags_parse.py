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


def test_each_dag_names_its_own_file_when_its_file_is_imported_directly():
    import importlib.util

    for path in sorted(DAGS.glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"dag_file_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.dag.fileloc == str(path)


# The XCom each reconcile-like task reads, by field: the task whose return value it is.
HAND_OFFS = {"extracted": "extract", "built": "transform", "delivered": "load", "listed": "list_tasks",
             "handled": "handle_tasks", "marked": "mark_processed", "chunks": "extract", "batches": "transform"}


def test_steps_hand_over_through_xcomargs_and_no_field_is_a_jinja_string():
    from airflow.dag_processing.dagbag import DagBag
    from airflow.sdk.definitions.xcom_arg import PlainXComArg

    bag = DagBag(dag_folder=str(DAGS), safe_mode=True)
    for dag_id in EXPECTED:
        for task in bag.get_dag(dag_id).tasks:
            values = dict(getattr(task, "partial_kwargs", {}))
            values |= dict(getattr(getattr(task, "expand_input", None), "value", {}) or {})
            if not values:
                values = {field: getattr(task, field) for field in task.template_fields}
            for field, value in values.items():
                assert not (isinstance(value, str) and "{{" in value), f"{dag_id}.{task.task_id}.{field}: {value}"
                if field in HAND_OFFS and value is not None:
                    assert isinstance(value, PlainXComArg), f"{dag_id}.{task.task_id}.{field}"
                    assert value.operator.task_id == HAND_OFFS[field] and value.key == "return_value"
