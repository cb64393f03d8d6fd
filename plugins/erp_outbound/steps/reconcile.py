"""Reconcile: apply every recorded verdict to the ERP, release the claims, report the run."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from typing import Any

from airflow.sdk import BaseOperator

from erp_outbound.core import alerts, assets, metrics, runs, settings
from erp_outbound.core.links import RunReportLink
from erp_outbound.core.params import as_bool, form_value
from erp_outbound.core.report import RunReport
from erp_outbound.core.storage import Folder
from erp_outbound.core.verdict import Outcome
from erp_outbound.erp.claims import Claims
from erp_outbound.erp.hook import ErpHook
from erp_outbound.erp.journal import Journal, new_failures
from erp_outbound.erp.writeback import apply_verdicts


class ReconcileOperator(BaseOperator):
    """Apply every recorded verdict to the ERP, release the run's claims, report the run.

    ``extracted``, ``built`` and ``delivered`` are the extract, transform and load steps' XComs
    (``dag_defaults.step_results``; ``built`` is the load parts). Vendors extend ``before_apply``
    (e.g. to report build errors). The run report goes to the task log, to JSON, CSV and HTML
    files in the reports folder, and its counts to XCom.
    Document types with deliveries get an asset event through the vendor's asset alias
    (see ``core/assets.py``); new document errors are sent as an alert when alerts are on.
    """

    template_fields: Sequence[str] = ("extracted", "built", "delivered", "dry_run")
    ui_color = "#e6f5e6"
    operator_extra_links = (RunReportLink(),)  # "Run report": this run's report on the Deliveries page

    def __init__(self, *, vendor: str, extracted: Any = None, built: Any = None, delivered: Any = None,
                 erp_conn_id: str = ErpHook.default_conn_name, dry_run: Any = None,
                 reports_url: str | None = None, **kwargs) -> None:
        # Asset events for the delivered types are added to this alias at run time.
        outlets = kwargs.get("outlets") or []
        kwargs["outlets"] = [*(outlets if isinstance(outlets, list) else [outlets]), assets.vendor_alias(vendor)]
        super().__init__(**kwargs)
        self.vendor = vendor
        self.extracted = extracted
        self.built = built
        self.delivered = delivered
        self.erp_conn_id = erp_conn_id
        self.dry_run = dry_run
        self.reports_url = reports_url

    def before_apply(self, verdicts: list, report: RunReport) -> None:
        """Vendor work on verdicts about to be applied (they may still be changed)."""

    def after_apply(self, report: RunReport) -> None:
        """Vendor checks once everything is applied; raise here to fail the task."""

    def execute(self, context) -> dict:
        self.delivered = load_results(self.delivered)  # read once: the load tasks' results, as a list
        self.engine = engine = ErpHook(self.erp_conn_id).engine  # vendors' before_apply use it too
        dry_run = as_bool(form_value(context, "dry_run", self.dry_run, False))
        journal = Journal(engine, runs.run_id(context), dry_run, dag_id=runs.dag_id(context))
        report = RunReport(self.vendor, context["dag"].dag_id, runs.run_id(context), dry_run)
        applied: dict[str, int] = {}
        if not dry_run:
            while entries := journal.unapplied(self.vendor):
                self.before_apply([v for _, v in entries], report)
                for outcome, n in apply_verdicts(engine, journal, entries).items():
                    applied[outcome] = applied.get(outcome, 0) + n
            token = (self.extracted or {}).get("claim_token")
            if token:
                Claims.resume(engine, runs.run_id(context), token, dag_id=runs.dag_id(context)).release()
        if dry_run:  # a dry run wrote nothing to the ERP: its report comes from what transform staged
            from erp_outbound.steps.transform import build_error_verdicts  # pandas: not at DAG parse time

            report.verdicts = build_error_verdicts(self.vendor, [ref for part in load_parts(self.built)
                                                                  for ref in part.get("build_errors", [])])
            report.would_send = would_send(self.built)
        else:
            report.verdicts = journal.of_run(self.vendor)
        self._notes(report, applied)
        self.log.info("\n%s", report.render())
        # Shown on the run in the UI (a listener writes it there when the run ends: ui/run_notes.py).
        context["ti"].xcom_push(key=runs.RUN_NOTE_KEY, value=report.run_note())
        files = report.write(Folder(self.reports_url or settings.reports_url()))
        self.log.info("Report files:\n%s", "\n".join(f"  {path}" for path in files.values()))
        if not dry_run:
            self._alert_new_errors(report, files)
            metrics.emit_outcomes(self.vendor, report.dag_id, report.counts())
        runs.run_staging(context).remove()
        self.after_apply(report)
        if not dry_run and self._a_step_failed():
            # Reconcile runs even when a step failed, to keep what was recorded; the run still fails.
            raise RuntimeError("An earlier step of this run failed (see its log); the verdicts it recorded "
                               "were applied and its documents go again next run.")
        extras = assets.delivery_extras(report.summary(), report.dag_id, report.run_id, files)
        if extras:
            assets.emit_deliveries(context["outlet_events"], self.vendor, extras)
            # One asset a line, as the report files: a list of twelve names would run past the log viewer.
            self.log.info("Asset events for the delivered types:\n%s",
                          "\n".join(f"  {assets.delivery_asset(self.vendor, t).name}" for t in extras))
        return report.summary() | {"report_files": files}

    def _alert_new_errors(self, report: RunReport, files: dict[str, str]) -> None:
        """Alert about documents that failed for the first time or differently than before."""
        config = alerts.load_settings(self.log)
        if config is None or not config.wants("new_errors"):
            return
        try:
            new = new_failures(self.engine, report)
            if new:
                alerts.send(config, alerts.new_errors_alert(report, new, files, config.max_failures), logger=self.log)
        except Exception as exc:  # noqa: BLE001 - an alert must never fail a delivery run
            self.log.warning("Could not send the new-errors alert (%s); the run is not affected.", exc)

    def _a_step_failed(self) -> bool:
        """Extract, transform or one of the load tasks left no result."""
        if self.extracted is None or self.built is None:
            return True
        return len(load_results(self.delivered)) < max(1, len(self.built))  # one load task per part

    def _notes(self, report: RunReport, applied: dict[str, int]) -> None:
        delivered = merged_load_results(self.delivered)
        deferred = [v for v in report.verdicts if v.outcome is Outcome.DEFERRED]
        if deferred:
            reasons = sorted({v.message or "" for v in deferred})
            # At most about 300 characters of reasons, cut after a whole reason or word; all are in the report.
            shown = textwrap.shorten("; ".join(reasons), 300, placeholder=" … (all reasons in the report)")
            report.notes.append(
                f"{len(deferred)} documents got no final answer this run ({shown}). "
                "Nothing was marked on them; they go again next run."
            )
            self.log.warning(report.notes[-1])
        unmatched = (self.extracted or {}).get("unmatched_ids") or {}
        if unmatched.get("note"):
            report.notes.append(unmatched["note"])
        recovered = (self.extracted or {}).get("recovered")
        if recovered:
            report.notes.append(f"{recovered} verdicts of an earlier interrupted run were applied first.")
        if delivered.get("unsent"):
            report.notes.append(f"{delivered['unsent']} documents were not sent: most tries failed, so the vendor "
                                "looked down and sending stopped (the outage breaker). They go again next run.")
        if delivered.get("skipped_claims"):
            report.notes.append(f"{delivered['skipped_claims']} documents were skipped: another run claimed them.")
        if report.dry_run and delivered.get("preview"):
            report.notes.append(f"Dry run: {delivered.get('would_send', 0)} payloads would be sent; "
                                f"they are in {delivered['preview']}")
        if applied:
            self.log.info("Applied to the ERP: %s", applied)


def load_results(delivered: Any) -> list[dict]:
    """The load step's XCom: one dict, or a list with one per mapped load task (a failed one left none)."""
    if isinstance(delivered, dict):
        return [delivered]
    if isinstance(delivered, Sequence) and not isinstance(delivered, (str, bytes, list, tuple)):
        # A mapped task's results come as the task SDK's lazy sequence. Iterating it asks for one item past
        # the end, and the SDK logs that 404 as an error ("XCom not found ... offset=N ... task 'load'") in
        # every run; a slice fetches all of them in one request and asks for nothing that is not there.
        delivered = delivered[:]
    return [d for d in delivered or [] if isinstance(d, dict)]


def load_parts(built: Any) -> list[dict]:
    """The transform step's load parts (``transform.load_parts``); none when it failed."""
    return [part for part in built or [] if isinstance(part, dict)]


def would_send(built: Any) -> dict[str, int]:
    """A dry run: how many documents of each type the load step would have sent."""
    counts: dict[str, int] = {}
    for part in load_parts(built):
        for batch in part.get("batches", []):
            counts[batch["doc_type"]] = counts.get(batch["doc_type"], 0) + batch["count"]
    return dict(sorted(counts.items()))


def merged_load_results(delivered: Any) -> dict:
    """The load tasks' results as one: counts added up, dry-run previews listed."""
    merged: dict = {}
    for result in load_results(delivered):
        for key, value in result.items():
            if key == "preview":
                merged[key] = f"{merged[key]}, {value}" if key in merged else value
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                merged[key] = merged.get(key, 0) + value
    return merged
