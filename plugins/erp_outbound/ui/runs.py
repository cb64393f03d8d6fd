"""Airflow's side of the page: our DAGs, their runs, which DAG a journal entry belongs to, the reports.

Runs in the API server: it reads Airflow's metadata DB through the request's session (never from a
task) and the run reports from the reports store (``ERP_OUTBOUND_REPORTS``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from airflow.models.dag import DagTag
from airflow.models.dagrun import DagRun
from sqlalchemy import select
from sqlalchemy.orm import Session

from erp_outbound.core import settings
from erp_outbound.core.report import VENDOR_NAMES, report_stem
from erp_outbound.core.storage import Folder
from erp_outbound.ui.attention import Document

OUR_TAG = "erp-outbound"  # every DAG built with dag_defaults.delivery_dag carries it, and its vendor's tag
REPORT_KINDS = {"html": "text/html; charset=utf-8", "csv": "text/csv; charset=utf-8",
                "json": "application/json"}


def our_dags(session: Session) -> dict[str, str]:
    """Our DAGs and their vendor: ``{dag_id: vendor}`` from the tags ``erp-outbound`` and the vendor's."""
    ours = select(DagTag.dag_id).where(DagTag.name == OUR_TAG)
    rows = session.execute(select(DagTag.dag_id, DagTag.name).where(DagTag.dag_id.in_(ours)))
    vendors: dict[str, str] = {}
    for dag_id, tag in rows:
        if tag in VENDOR_NAMES:
            vendors[dag_id] = tag
    return vendors


def run_dags(session: Session, run_ids: Iterable[str], dag_ids: Iterable[str], chunk: int = 500) -> dict[str, set[str]]:
    """Which of ``dag_ids`` have a run with each of ``run_ids`` (a scheduled run id repeats across DAGs)."""
    run_ids, dag_ids = sorted(set(run_ids)), sorted(set(dag_ids))
    found: dict[str, set[str]] = defaultdict(set)
    for start in range(0, len(run_ids), chunk):
        query = select(DagRun.dag_id, DagRun.run_id).where(
            DagRun.run_id.in_(run_ids[start:start + chunk]), DagRun.dag_id.in_(dag_ids))
        for dag_id, run_id in session.execute(query):
            found[run_id].add(dag_id)
    return found


def reports_folder() -> Folder:
    return Folder(settings.reports_url())


def read_report(dag_id: str, run_id: str, kind: str = "json", folder: Folder | None = None) -> str | None:
    """A run's report file as text (``kind`` html, csv or json), or None when the run wrote none."""
    if kind not in REPORT_KINDS:
        raise ValueError(f"no report kind {kind!r}")
    return (folder or reports_folder()).read_text(f"{report_stem(dag_id, run_id)}.{kind}")


def report_summary(dag_id: str, run_id: str, folder: Folder | None = None) -> dict | None:
    text = read_report(dag_id, run_id, "json", folder)
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


class Owners:
    """Which DAG each journal entry belongs to: the journal says so (``dag_id``, since revision 0003).

    An entry recorded before 0003 names only its vendor and run: it belongs to the DAGs of that vendor
    with a run of that id (Airflow's metadata, one query per page view), or to every DAG of its vendor
    when no run explains it, and only a person who may read all of them sees it. No report file is read:
    ownership never depends on a file the page does not show.
    """

    def __init__(self, session: Session, dags: dict[str, str]) -> None:
        self.session = session
        self.dags = dags  # our DAGs (all of them, not only the readable ones): dag_id -> vendor
        self._runs: dict[str, set[str]] = {}

    def resolve(self, documents: list[Document]) -> dict[int, frozenset[str]]:
        """For each document (by position) the DAGs it may belong to (one, when it is known)."""
        missing = {d.run_id for d in documents if not d.dag_id} - set(self._runs)
        if missing:
            found = run_dags(self.session, missing, self.dags)
            for run_id in missing:
                self._runs[run_id] = found.get(run_id, set())
        return {i: self._owners(d) for i, d in enumerate(documents)}

    def _owners(self, document: Document) -> frozenset[str]:
        if document.dag_id:
            return frozenset({document.dag_id})
        vendor_dags = {d for d, v in self.dags.items() if v == document.vendor}
        return frozenset((self._runs.get(document.run_id, set()) & vendor_dags) or vendor_dags)


@dataclass
class RecentRun:
    dag_id: str
    run_id: str
    state: str
    run_after: datetime | None
    start_date: datetime | None
    end_date: datetime | None
    report: dict | None = None  # the report's JSON (counts, notes, failures), None before reconcile wrote it
    outcomes: dict[str, int] = field(default_factory=dict)

    @property
    def dry_run(self) -> bool:
        return bool((self.report or {}).get("dry_run"))

    def as_dict(self) -> dict:
        return {"dag_id": self.dag_id, "run_id": self.run_id, "state": self.state,
                "run_after": self.run_after.isoformat() if self.run_after else None,
                "dry_run": self.dry_run, "has_report": self.report is not None, "outcomes": self.outcomes,
                "documents": (self.report or {}).get("totals", {}).get("documents")}


def recent_runs(session: Session, dag_ids: Iterable[str], limit: int = 25,
                folder: Folder | None = None) -> list[RecentRun]:
    """The latest runs of these DAGs, newest first, each with its report's counts when it has one."""
    dag_ids = sorted(set(dag_ids))
    if not dag_ids:
        return []
    query = (select(DagRun.dag_id, DagRun.run_id, DagRun.state, DagRun.run_after, DagRun.start_date,
                    DagRun.end_date)
             .where(DagRun.dag_id.in_(dag_ids)).order_by(DagRun.run_after.desc(), DagRun.id.desc()).limit(limit))
    runs = []
    for dag_id, run_id, state, run_after, start, end in session.execute(query):
        report = report_summary(dag_id, run_id, folder)
        totals = (report or {}).get("totals") or {}
        outcomes = {k: v for k, v in totals.items() if k != "documents" and isinstance(v, int)}
        runs.append(RecentRun(dag_id, run_id, _state(state), run_after, start, end, report, outcomes))
    return runs


def dag_run(session: Session, dag_id: str, run_id: str) -> RecentRun | None:
    row = session.execute(select(DagRun.state, DagRun.run_after, DagRun.start_date, DagRun.end_date)
                          .where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)).first()
    if row is None:
        return None
    return RecentRun(dag_id, run_id, _state(row[0]), row[1], row[2], row[3])


def _state(state) -> str:
    return str(getattr(state, "value", state) or "")
