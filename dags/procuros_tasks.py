"""Airflow DAG procuros_tasks: drain Procuros' task queue (master-data exports, enabled trade partners).

list -> handle -> mark processed -> report; every 15 minutes or from the trigger form.
"""

from __future__ import annotations

from airflow.sdk import Param
from erp_outbound import dag_defaults as defaults
from erp_outbound.procuros.task_operators import (
    ProcurosHandleTasksOperator,
    ProcurosListTasksOperator,
    ProcurosMarkTasksOperator,
    ProcurosTasksReportOperator,
)

with defaults.delivery_dag(
    "procuros_tasks", "Answer Procuros' tasks: export customers and suppliers, sync enabled trade partners",
    "procuros", doc_md=__doc__,
    params={
        "dry_run": defaults.dry_run("Build the results and show them; change no partner flag and mark no task.",
                                    section="What to do"),
        "per_page": Param(100, type="integer", **defaults.within(1, 100), title="Tasks per page",
                          section=defaults.ADVANCED,
                          description="Page size when reading Procuros' task queue (1 to 100); every page is read."),
    },
) as dag:
    listed = ProcurosListTasksOperator(task_id="list_tasks", per_page="{{ params.per_page }}")
    handled = ProcurosHandleTasksOperator(task_id="handle_tasks", listed=listed.output, dry_run="{{ params.dry_run }}")
    marked = ProcurosMarkTasksOperator(task_id="mark_processed", handled=handled.output, dry_run="{{ params.dry_run }}")
    report = ProcurosTasksReportOperator(
        task_id="report",
        handled="{{ ti.xcom_pull(task_ids='handle_tasks') }}",
        marked="{{ ti.xcom_pull(task_ids='mark_processed') }}",
        trigger_rule="all_done",
    )
    listed >> handled >> marked >> report
