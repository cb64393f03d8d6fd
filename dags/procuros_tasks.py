"""Airflow DAG procuros_tasks: drain Procuros' task queue (master-data exports, enabled trade partners).

**What it does.** Reads every page of Procuros' task queue (`list_tasks`, `GET /v2/tasks`),
answers each task from the ERP (`handle_tasks`: exports customers or suppliers built with pandas,
or sets the "via Procuros" flag on exactly the partners a sync task lists), tells Procuros each
result (`mark_processed`, `PUT /v2/tasks/{id}`) and lists every task in its report (`report`). A
task Procuros could not be told about comes back next run. Dry run builds everything and marks
nothing. Every 15 minutes or from the trigger form.

**Where to read more** (the erp-outbound guide, inside Airflow):
[procuros_tasks](/erp-outbound/guide/integrators/procuros-tasks) ·
[Trigger forms](/erp-outbound/guide/operators/trigger-forms) ·
[Reading a run report](/erp-outbound/guide/operators/run-report) (the report task's log and its *Run report* link) ·
[Connections](/erp-outbound/guide/integrators/connections) (`procuros_default`, `erp_default`).
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
    "procuros", doc_md=__doc__, dag_file=__file__,
    params={
        "dry_run": defaults.dry_run("Build the results and show them; change no partner flag and mark no task.",
                                    section="What to do"),
        "per_page": Param(100, type="integer", **defaults.within(1, 100), title="Tasks per page",
                          section=defaults.ADVANCED,
                          description="Page size when reading Procuros' task queue (1 to 100); every page is read."),
    },
) as dag:
    listed = ProcurosListTasksOperator(task_id="list_tasks")
    handled = ProcurosHandleTasksOperator(task_id="handle_tasks", listed=listed.output)
    marked = ProcurosMarkTasksOperator(task_id="mark_processed", handled=handled.output)
    report = ProcurosTasksReportOperator(
        task_id="report",
        handled=handled.output,
        marked=marked.output,
        trigger_rule="all_done",
    )
    listed >> handled >> marked >> report
