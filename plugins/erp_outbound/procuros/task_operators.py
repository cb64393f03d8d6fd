"""Operators of the procuros_tasks DAG: list tasks, handle them, mark them processed, report."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from airflow.sdk import BaseOperator

from erp_outbound.core import runs, settings
from erp_outbound.core.delivery import Delivery
from erp_outbound.core.http import TransientError
from erp_outbound.core.links import RunReportLink
from erp_outbound.core.params import as_bool, form_value
from erp_outbound.core.report import RunReport
from erp_outbound.core.storage import Folder, read_lines
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.hook import ErpHook
from erp_outbound.pools import take_vendor_pool
from erp_outbound.procuros.hook import ProcurosHook
from erp_outbound.procuros.pages import cursor_pages
from erp_outbound.procuros.task_marks import TaskMarker, task_page


class ProcurosListTasksOperator(BaseOperator):
    """GET /v2/tasks through every page (cursor pagination); stage the tasks."""

    template_fields = ("per_page",)
    ui_color = "#e8f4fd"

    def __init__(self, *, per_page: Any = None, procuros_conn_id: str = ProcurosHook.default_conn_name, **kwargs):
        take_vendor_pool(kwargs, "procuros")
        super().__init__(**kwargs)
        self.per_page = per_page
        self.procuros_conn_id = procuros_conn_id

    def execute(self, context) -> dict:
        hook = ProcurosHook(self.procuros_conn_id)
        per_page = min(100, max(1, int(form_value(context, "per_page", self.per_page, 100))))
        tasks, pages = asyncio.run(self._list(hook, per_page))
        path = runs.staging_folder(context, "tasks").write_lines("tasks.jsonl", (json.dumps(t) for t in tasks))
        kinds: dict[str, int] = {}
        for task in tasks:
            kinds[str(task.get("type"))] = kinds.get(str(task.get("type")), 0) + 1
        self.log.info("%d tasks waiting in Procuros: %s", len(tasks), kinds)
        return {"tasks": path, "count": len(tasks), "pages": pages, "by_type": kinds}

    async def _list(self, hook: ProcurosHook, per_page: int) -> tuple[list[dict], int]:
        tasks, pages = [], 0
        async with hook.client() as client:
            async for page in cursor_pages(client, lambda cursor: task_page(client, per_page, cursor),
                                           "GET /v2/tasks"):
                pages += 1
                items = page.get("items") or []
                tasks += items
                self.log.info("Page %d: %d tasks (%d so far)", pages, len(items), len(tasks))
        return tasks, pages


class ProcurosHandleTasksOperator(BaseOperator):
    """Handle each task by type (exports, partner sync); stage the bodies that mark them processed."""

    template_fields = ("listed", "dry_run")
    ui_color = "#fdf6e3"

    def __init__(self, *, listed: Any, erp_conn_id: str = ErpHook.default_conn_name, dry_run: Any = None, **kwargs):
        super().__init__(**kwargs)
        self.listed = listed
        self.erp_conn_id = erp_conn_id
        self.dry_run = dry_run

    def execute(self, context) -> dict:
        from erp_outbound.procuros.tasks import handle  # pandas: imported where tasks are handled, not at parse

        engine = ErpHook(self.erp_conn_id).engine
        dry_run = as_bool(form_value(context, "dry_run", self.dry_run, False))
        outcomes = [handle(json.loads(line), engine, dry_run) for line in read_lines(self.listed["tasks"])]
        for outcome in outcomes:
            self.log.info("Task %s %s: %s, %d partners%s", outcome.task_id, outcome.task_type,
                          "ready" if outcome.success else f"fails ({outcome.reason})", outcome.partners,
                          f", unknown: {', '.join(outcome.unknown)}" if outcome.unknown else "")
        path = runs.staging_folder(context, "handled").write_lines("outcomes.jsonl", (o.as_line() for o in outcomes))
        return {"outcomes": path, "count": len(outcomes), "failed": sum(not o.success for o in outcomes)}


class ProcurosMarkTasksOperator(BaseOperator):
    """PUT /v2/tasks/{id} with each task's {success, result}. A task Procuros did not hear about comes back."""

    template_fields = ("handled", "dry_run")
    ui_color = "#fde8e8"

    def __init__(self, *, handled: Any, procuros_conn_id: str = ProcurosHook.default_conn_name,
                 dry_run: Any = None, **kwargs):
        take_vendor_pool(kwargs, "procuros")
        super().__init__(**kwargs)
        self.handled = handled
        self.procuros_conn_id = procuros_conn_id
        self.dry_run = dry_run

    def execute(self, context) -> dict:
        outcomes = [json.loads(line) for line in read_lines(self.handled["outcomes"])]
        if as_bool(form_value(context, "dry_run", self.dry_run, False)):
            self.log.info("Dry run: %d tasks would be marked processed", len(outcomes))
            return {"marks": None, "would_mark": len(outcomes)}
        marks: list[Verdict] = []
        if outcomes:
            relisted = asyncio.run(self._mark(ProcurosHook(self.procuros_conn_id), outcomes, marks.append))
            if relisted:
                self.log.info("Tasks re-listed before marking again after a lost answer: %d", relisted)
        path = runs.staging_folder(context, "marked").write_lines(
            "marks.jsonl", (json.dumps(v.as_row(), ensure_ascii=False) for v in marks))
        counts = {o.value: sum(v.outcome is o for v in marks) for o in Outcome}
        return {"marks": path, "counts": counts}


    @staticmethod
    async def _mark(hook: ProcurosHook, outcomes: list[dict], record) -> int:
        """Mark every task; the number of tasks re-listed before a second mark."""
        async with hook.client() as client:
            marker = TaskMarker(client)  # re-lists the tasks before marking one again after a lost answer

            def defer(task: dict, error: TransientError) -> Verdict:
                return Verdict(vendor="procuros", doc_type=task["task_type"], document_id=task["task_id"],
                               identifier=task["task_id"], outcome=Outcome.DEFERRED, message=error.reason,
                               http_status=error.status)

            await Delivery(client.settings, marker.mark, defer, record, label="Procuros tasks marked").deliver(
                outcomes, len(outcomes))
        return marker.relisted


class ProcurosTasksReportOperator(BaseOperator):
    """The run report: every task with its type, outcome, partner count and unknown ids."""

    template_fields = ("handled", "marked")
    ui_color = "#e6f5e6"
    operator_extra_links = (RunReportLink(),)  # "Run report": this run's report on the Deliveries page

    def __init__(self, *, handled: Any = None, marked: Any = None, reports_url: str | None = None, **kwargs):
        super().__init__(**kwargs)
        self.handled = handled
        self.marked = marked
        self.reports_url = reports_url

    def execute(self, context) -> dict:
        outcomes = [json.loads(line) for line in read_lines(self.handled["outcomes"])] if self.handled else []
        marks = {}
        if self.marked and self.marked.get("marks"):
            marks = {row["document_id"]: row for row in map(json.loads, read_lines(self.marked["marks"]))}
        dry_run = bool(self.marked) and self.marked.get("marks") is None
        report = RunReport("procuros", context["dag"].dag_id, runs.run_id(context), dry_run, items_title="Tasks")
        for task in outcomes:
            mark = marks.get(task["task_id"])
            outcome = Outcome(mark["outcome"]) if mark else Outcome.DEFERRED
            if task["success"] and outcome is Outcome.DELIVERED:
                result = "processed"
            elif outcome is Outcome.DELIVERED:
                # Procuros heard the task failed: it is done there, but a person must act on it.
                result, outcome = "marked failed", Outcome.REJECTED
            elif dry_run:
                result = "dry run: not marked"
            else:
                result = "NOT marked: comes back next run"
            report.items.append({
                "task": task["task_id"], "type": task["task_type"], "outcome": result,
                "partners": task["partners"], "unknown": ", ".join(task["unknown"]) or "-",
                "reason": task["reason"] or (mark or {}).get("message") or "-",
            })
            report.verdicts.append(Verdict(vendor="procuros", doc_type=task["task_type"], document_id=task["task_id"],
                                           identifier=task["task_id"], outcome=outcome,
                                           message=task["reason"] or (mark or {}).get("message")))
        unknown = sum(len(t["unknown"]) for t in outcomes)
        if unknown:
            report.notes.append(f"{unknown} partner ids in sync tasks are not in the ERP (see 'unknown').")
        self.log.info("\n%s", report.render())
        files = report.write(Folder(self.reports_url or settings.reports_url()))
        self.log.info("Report files: %s", ", ".join(files.values()))
        runs.run_staging(context).remove()
        if not self.handled or not self.marked:
            raise RuntimeError("An earlier step of this run failed (see its log); unmarked tasks come back next run.")
        return report.summary() | {"report_files": files}
