"""procuros_tasks: drain Procuros' task queue (master-data exports, enabled trade partners).

list -> handle -> mark processed -> report; every 15 minutes or from the trigger form.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from erp_outbound.procuros.task_operators import (
    ProcurosHandleTasksOperator,
    ProcurosListTasksOperator,
    ProcurosMarkTasksOperator,
    ProcurosTasksReportOperator,
)

with DAG(
    dag_id="procuros_tasks",
    description="Answer Procuros' tasks: export customers and suppliers, sync enabled trade partners",
    schedule="*/15 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    tags=["erp-outbound", "procuros"],
    doc_md=__doc__,
    params={
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description="Build the results and show them; change no partner flag and mark no task."),
        "per_page": Param(100, type="integer", minimum=1, maximum=100, title="Tasks per page",
                          description="Page size when reading Procuros' task queue."),
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
