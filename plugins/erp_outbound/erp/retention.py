"""Retention: what erp-outbound's bookkeeping may forget, and forgetting it in small batches.

The journal (``erp_outbound_verdicts``) gains a row per vendor answer, the reports store three files a
run, the error-report memory a row per document whose error was reported. The Deliveries page no
longer reads history (it reads the open set), so pruning is about disk and backups, not speed: it is
off until an operator runs ``erp-outbound db prune`` or unpauses the ``erp_outbound_prune`` DAG.

What goes, once older than the retention (``ERP_OUTBOUND_RETENTION_DAYS``, default 400 days):
- a journal entry that was applied to the ERP (or belongs to a dry run) and that the open set does not
  name: the latest verdict of a document that still needs attention is kept however old, and its latest
  failure (what a new failure is compared with before it is announced as new); so is every entry of a
  run that still holds a claim (running, or crashed with its lease not yet run out), every entry of a
  document some run holds a claim on, and every entry not yet applied (a crashed run's verdicts, which
  the next run applies);
- an error-report memory row of a document that is no longer open (it was delivered since): the memory
  of a document that still fails is kept however old, so the same error is never reported twice;
- a run's report files (JSON, CSV, HTML), except the newest ``ERP_OUTBOUND_REPORTS_KEEP`` (default 25:
  the page's list of recent runs) whatever their age.

Each batch (``ERP_OUTBOUND_PRUNE_BATCH`` rows, default 1,000) is found in a short range of the primary
key, then deleted by primary key in a transaction of its own: a delivering DAG waits for no lock longer
than one batch.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, func, or_, select, tuple_
from sqlalchemy.engine import Engine

from erp_outbound.erp.state import claims, error_reports, open_documents, utcnow, verdicts

log = logging.getLogger(__name__)

DEFAULT_DAYS = 400  # a year and a month: a year's audit and its closing are still in the journal
DEFAULT_BATCH = 1000
DEFAULT_REPORTS_KEEP = 25
MIN_DAYS = 1  # a lease is 30 minutes: nothing a day old belongs to a run that is still going
REPORT_SUFFIXES = (".json", ".csv", ".html")


@dataclass(frozen=True, kw_only=True)
class Retention:
    """How long the bookkeeping keeps what no longer matters, and how it forgets it."""

    days: int = DEFAULT_DAYS
    batch: int = DEFAULT_BATCH
    reports_keep: int = DEFAULT_REPORTS_KEEP
    pause: float = 0.0  # seconds between batches, to leave the ERP's database room

    def __post_init__(self) -> None:
        if self.days < MIN_DAYS:
            raise ValueError(f"retention days={self.days}: keep at least {MIN_DAYS} day (runs in flight need theirs)")
        if not 1 <= self.batch <= 50_000:
            raise ValueError(f"retention batch={self.batch}: give 1 to 50,000 rows a batch")
        if self.reports_keep < 0:
            raise ValueError(f"retention reports_keep={self.reports_keep}: give 0 or more")

    @classmethod
    def from_environment(cls, **given) -> Retention:
        """From ERP_OUTBOUND_RETENTION_DAYS, ERP_OUTBOUND_PRUNE_BATCH and ERP_OUTBOUND_REPORTS_KEEP; ``given``
        (not None) wins. A value that is not a whole number is refused, naming the variable."""
        values = {}
        for name, variable in (("days", "ERP_OUTBOUND_RETENTION_DAYS"), ("batch", "ERP_OUTBOUND_PRUNE_BATCH"),
                               ("reports_keep", "ERP_OUTBOUND_REPORTS_KEEP")):
            raw = os.environ.get(variable)
            if raw:
                try:
                    values[name] = int(raw)
                except ValueError:
                    raise ValueError(f"{variable}={raw!r} is not a whole number") from None
        values.update({k: v for k, v in given.items() if v is not None})
        return cls(**values)

    def cutoff(self, now: datetime | None = None) -> datetime:
        return (now or utcnow()) - timedelta(days=self.days)


@dataclass(kw_only=True)
class Pruned:
    """What one prune removed (or, on a dry run, would remove)."""

    journal_entries: int = 0
    error_memory: int = 0
    report_files: int = 0
    batches: int = 0
    cutoff: datetime | None = None
    dry_run: bool = False
    batch_sizes: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"journal_entries": self.journal_entries, "error_memory": self.error_memory,
                "report_files": self.report_files, "batches": self.batches, "dry_run": self.dry_run,
                "cutoff": self.cutoff.isoformat() if self.cutoff else None}


def _not_needed(cutoff: datetime):
    """The journal entries retention may remove (see the module's text), as a WHERE clause."""
    v, o, c = verdicts.c, open_documents.c, claims.c
    named = or_(exists().where(o.verdict_id == v.id), exists().where(o.decided_id == v.id))
    of_a_claiming_run = exists().where(c.run_id == v.run_id, c.dag_id.is_not_distinct_from(v.dag_id))
    of_a_claimed_document = exists().where(c.vendor == v.vendor, c.doc_type == v.doc_type,
                                           c.document_id == v.document_id)
    claimed = or_(of_a_claiming_run, of_a_claimed_document)
    # applied before the cutoff, or a dry run's recorded before it. Written so that no index but the primary
    # key serves it: PostgreSQL would otherwise AND the batch's id range with half the journal's applied_at.
    settled = and_(func.coalesce(v.applied_at, v.recorded_at) < cutoff,
                   or_(v.applied_at.is_not(None), v.dry_run.is_(True)))
    return and_(settled, ~named, ~claimed)


def _short(conn):
    """``conn`` for one batch's look or delete. PostgreSQL's JIT would compile each look (its cost estimate
    counts the range's rows): 200 ms of compiling for 30 ms of reading, so it is off for these transactions."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL jit = off")
    return conn


WINDOW_BATCHES = 10  # a batch is looked for among this many batches' worth of ids: a short primary-key range


def prune_journal(engine: Engine, retention: Retention, now: datetime | None = None, dry_run: bool = False,
                  on_batch: Callable[[int], None] | None = None, max_batches: int | None = None) -> int:
    """Remove the journal entries no one needs any more, ``retention.batch`` at a time; the count removed.
    ``max_batches`` stops after that many (a maintenance window; the next call goes on).

    The journal is walked along its primary key in short ranges (ten batches' worth of ids): each look
    reads one such range whatever the journal's size, so no query scans the whole journal to fill a batch,
    and each delete (by primary key, in a transaction of its own) holds its locks for one batch only.
    """
    cutoff = retention.cutoff(now)
    v = verdicts.c
    with engine.connect() as conn:
        last_id = conn.execute(select(func.max(v.id))).scalar() or 0
    window = retention.batch * WINDOW_BATCHES
    removed = batches = position = 0
    while position < last_id and (max_batches is None or batches < max_batches):
        upper = position + window
        with engine.connect() as conn:
            ids = [r[0] for r in _short(conn).execute(
                select(v.id).where(v.id > position, v.id <= upper, _not_needed(cutoff))
                .order_by(v.id).limit(retention.batch))]
        position = ids[-1] if len(ids) == retention.batch else upper
        if not ids:
            continue
        if not dry_run:
            with engine.begin() as conn:  # checked again at delete time: a run may have claimed meanwhile
                gone = _short(conn).execute(delete(verdicts).where(v.id.in_(ids), _not_needed(cutoff))).rowcount
        else:
            gone = len(ids)
        removed += gone
        batches += 1
        if on_batch:
            on_batch(gone)
        if retention.pause:
            time.sleep(retention.pause)
    return removed


def prune_error_memory(engine: Engine, retention: Retention, now: datetime | None = None, dry_run: bool = False,
                       on_batch: Callable[[int], None] | None = None) -> int:
    """Forget reported errors of documents that are no longer open, once older than the retention."""
    cutoff = retention.cutoff(now)
    e, o = error_reports.c, open_documents.c
    key = tuple_(e.vendor, e.doc_type, e.document_id)
    still_open = exists().where(o.vendor == e.vendor, o.doc_type == e.doc_type, o.document_id == e.document_id)
    forgettable = and_(e.reported_at < cutoff, ~still_open)
    removed, after = 0, None
    while True:
        query = select(e.vendor, e.doc_type, e.document_id).where(forgettable)
        if after is not None:
            query = query.where(key > tuple_(*after))
        with engine.connect() as conn:
            keys = [tuple(r) for r in _short(conn).execute(query.order_by(e.vendor, e.doc_type, e.document_id)
                                                   .limit(retention.batch))]
        if not keys:
            return removed
        after = keys[-1]
        if dry_run:
            gone = len(keys)
        else:
            with engine.begin() as conn:
                gone = 0
                _short(conn)
                for vendor, doc_type, document_id in keys:  # by primary key; the batch is one transaction
                    gone += conn.execute(delete(error_reports).where(
                        e.vendor == vendor, e.doc_type == doc_type, e.document_id == document_id,
                        forgettable)).rowcount
        removed += gone
        if on_batch:
            on_batch(gone)
        if retention.pause:
            time.sleep(retention.pause)


def prune_reports(folder, retention: Retention, now: datetime | None = None, dry_run: bool = False) -> int:
    """Remove report files older than the retention, but never the newest ``reports_keep`` runs' files."""
    cutoff = retention.cutoff(now).timestamp()
    runs: dict[str, float] = {}
    files: dict[str, list[str]] = {}
    for name, modified in folder.listing():
        stem, dot, suffix = name.rpartition(".")
        if not dot or f".{suffix}" not in REPORT_SUFFIXES:
            continue  # not a report file: not ours to remove
        runs[stem] = max(runs.get(stem, 0.0), modified)
        files.setdefault(stem, []).append(name)
    newest = sorted(runs, key=runs.get, reverse=True)[:retention.reports_keep]
    removed = 0
    for stem, modified in runs.items():
        if modified >= cutoff or stem in newest:
            continue
        for name in files[stem]:
            removed += 1 if dry_run else int(folder.delete(name))
    return removed


def prune(engine: Engine, folder, retention: Retention, now: datetime | None = None,
          dry_run: bool = False) -> Pruned:
    """Prune the journal, the error-report memory and (when ``folder`` is given) the report files."""
    result = Pruned(cutoff=retention.cutoff(now), dry_run=dry_run)

    def counted(gone: int) -> None:
        result.batches += 1
        result.batch_sizes.append(gone)

    result.journal_entries = prune_journal(engine, retention, now, dry_run, counted)
    result.error_memory = prune_error_memory(engine, retention, now, dry_run, counted)
    if folder is not None:
        result.report_files = prune_reports(folder, retention, now, dry_run)
    log.info("Pruned bookkeeping older than %s: %s", result.cutoff, result.as_dict())
    return result
