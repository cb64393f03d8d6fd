"""The verdict journal: every verdict is stored the moment it is known.

Load writes verdicts here while it sends; reconcile applies them to the ERP documents.
A worker that dies after the vendor answered loses at most the last group commit
(a fraction of a second); those documents go again and the vendor recognises them.
The next run of the same DAG first applies whatever an earlier run recorded but did not apply.
A run is its DAG and its run id together: scheduled runs of two DAGs share a run id, and each
DAG sees, applies and reports only its own verdicts.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections import deque
from collections.abc import Iterable
from datetime import datetime
from functools import lru_cache
from itertools import chain, groupby
from typing import TYPE_CHECKING

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.engine import Engine

from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.state import claims, open_documents, utcnow, verdicts

if TYPE_CHECKING:
    from erp_outbound.core.report import RunReport


def journal_row(verdict: Verdict, dag_id: str | None, run_id: str, dry_run: bool, now: datetime) -> dict:
    row = verdict.as_row()
    row["errors"] = json.dumps(row["errors"], ensure_ascii=False) if row["errors"] else None
    row.update(dag_id=dag_id, run_id=run_id, dry_run=dry_run, recorded_at=now, applied_at=None)
    return row


# The columns a new entry fills (applied_at/applied_by stay NULL): the run's, the document's, and the
# explanation, which most verdicts (a key acknowledged, an order taken) do not have.
RUN_COLUMNS = ("dag_id", "run_id", "dry_run", "recorded_at")
DOCUMENT_COLUMNS = ("vendor", "doc_type", "document_id", "identifier", "outcome", "status", "http_status",
                    "attempts_before")
EXPLANATION_COLUMNS = ("message", "errors", "error_url", "error_code", "vendor_reference", "vendor_status")


def _document(v: Verdict) -> tuple:
    return v.vendor, v.doc_type, v.document_id, v.identifier, v.outcome.value, v.status, v.http_status, v.attempts_before


def _explanation(v: Verdict) -> tuple | None:
    if v.message is None and not v.errors and v.error_url is None and v.error_code is None \
            and v.vendor_reference is None and v.vendor_status is None:
        return None
    errors = json.dumps(v.errors, ensure_ascii=False) if v.errors else None
    return v.message, errors, v.error_url, v.error_code, v.vendor_reference, v.vendor_status


def insert_entries(conn, batch: Iterable[Verdict], dag_id: str | None, run_id: str, dry_run: bool,
                   now: datetime) -> int:
    """Insert verdicts as journal entries inside ``conn``'s transaction; the count inserted.

    The load step journals every document (GEP: 100 a request), so this is its hottest write.
    SQLite and MariaDB/MySQL get plain driver tuples in multi-row INSERTs, the run's columns bound
    once per call by SQLAlchemy's own types, and the explanation columns only for verdicts that
    have one (binding NULLs costs SQLite as much as values). PostgreSQL goes through SQLAlchemy's
    insert, whose psycopg2 "insertmanyvalues" beats the driver's row-at-a-time executemany.
    """
    dialect = conn.dialect
    batch = list(batch)
    if not batch:
        return 0
    before = None if dry_run else last_entry_id(conn, batch)
    if dialect.name == "postgresql":
        rows = [dict(zip(DOCUMENT_COLUMNS + EXPLANATION_COLUMNS + RUN_COLUMNS,
                         _document(v) + (_explanation(v) or (None,) * 6) + (dag_id, run_id, dry_run, now)))
                for v in batch]
        conn.execute(insert(verdicts), rows)
    else:
        run = tuple(_bound(verdicts.c[name], value, dialect)
                    for name, value in zip(RUN_COLUMNS, (dag_id, run_id, dry_run, now)))
        # in their order (ids follow it), statements for each stretch of one shape
        for has_explanation, stretch in groupby(((v, _explanation(v)) for v in batch),
                                                key=lambda p: p[1] is not None):
            columns = DOCUMENT_COLUMNS + (EXPLANATION_COLUMNS if has_explanation else ()) + RUN_COLUMNS
            _insert_rows(conn, columns, [_document(v) + (explanation or ()) + run for v, explanation in stretch])
    if not dry_run:  # the page shows real runs only: a dry run's verdicts change no document's state
        track_open_documents(conn, batch, dag_id, run_id, now, after_id=before)
    return len(batch)


FINAL_OUTCOMES = tuple(o.value for o in Outcome if o.is_final)
FINAL = frozenset(o for o in Outcome if o.is_final)  # a set lookup: Outcome.is_final costs an enum lookup a call
KEYS_PER_STATEMENT = 500  # document ids per IN list: well under every database's parameter limit


def last_entry_id(conn, batch: list[Verdict]) -> int | None:
    """The journal's largest id before ``batch`` is inserted; None when the batch is all final (then no
    id is needed). Every id inserted after this read is larger: ids come from a counter that only grows."""
    if all(v.outcome in FINAL for v in batch):
        return None
    return conn.execute(select(func.max(verdicts.c.id))).scalar() or 0


def track_open_documents(conn, batch: list[Verdict], dag_id: str | None, run_id: str, now: datetime,
                         after_id: int | None) -> None:
    """Bring the open set up to date with ``batch``, just journaled in ``conn``'s transaction.

    A document whose latest verdict is final leaves the open set; any other gets (or keeps) a row
    naming its latest verdict, and its latest failure since it was last final (``decided_id``; a
    deferral keeps the one before). ``after_id`` is :func:`last_entry_id` read before the insert: the
    batch's own entries are found by the primary key above it, so no id needs to come back from a
    multi-row INSERT (which MariaDB and SQLite cannot promise in order).
    """
    latest: dict[tuple, Verdict] = {}
    since_final: dict[tuple, list[Verdict]] = {}  # each document's verdicts after its last final one in the batch
    ended: dict[tuple[str, str], list[str]] = {}  # a final verdict in the batch: the document's row starts over
    for v in batch:
        key = (v.vendor, v.doc_type, v.document_id)
        latest[key] = v
        if v.outcome in FINAL:
            since_final[key] = []
            ended.setdefault((v.vendor, v.doc_type), []).append(v.document_id)
        else:
            since_final.setdefault(key, []).append(v)
    for (vendor, doc_type), ids in ended.items():
        _forget(conn, vendor, doc_type, sorted(set(ids)))
    if after_id is None:
        return
    v = verdicts.c
    of_this_dag = v.dag_id.is_(None) if dag_id is None else v.dag_id == dag_id
    # Only the entries that are not final: in each document's, those after its last final one come last.
    entries: dict[tuple, list[tuple[int, str]]] = {}
    for entry_id, vendor, doc_type, document_id, outcome in conn.execute(
            select(v.id, v.vendor, v.doc_type, v.document_id, v.outcome)
            .where(v.id > after_id, v.run_id == run_id, of_this_dag, v.dry_run.is_(False),
                   v.outcome.not_in(FINAL_OUTCOMES))
            .order_by(v.id)):
        entries.setdefault((vendor, doc_type, document_id), []).append((entry_id, outcome))
    newest = []
    for key, verdict in latest.items():
        if verdict.outcome in FINAL or key not in entries:
            continue
        mine = entries[key][-len(since_final[key]):]
        failures = [entry_id for entry_id, outcome in mine if outcome != Outcome.DEFERRED.value]
        entry_id, outcome = mine[-1]
        newest.append(dict(vendor=key[0], doc_type=key[1], document_id=key[2], verdict_id=entry_id,
                           decided_id=failures[-1] if failures else None, outcome=outcome, dag_id=dag_id,
                           recorded_at=now))
    if newest:
        conn.execute(_newer_wins_upsert(conn.dialect.name), newest)


def _forget(conn, vendor: str, doc_type: str, document_ids: list[str]) -> None:
    """Remove these documents from the open set: the driver's own SQL, as most verdicts are final and this
    runs for every journal write (SQLAlchemy's expanding IN costs more than the delete itself)."""
    dialect = conn.dialect
    table = open_documents.name
    if dialect.name == "postgresql":
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE vendor = %s AND doc_type = %s AND document_id = ANY(%s)",
                             (vendor, doc_type, document_ids))
        return
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    per_statement = KEYS_PER_STATEMENT if dialect.name != "sqlite" else max(
        1, min(2500, _variable_limit(conn) - 2))
    for start in range(0, len(document_ids), per_statement):
        part = document_ids[start:start + per_statement]
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE vendor = {mark} AND doc_type = {mark} "
                             f"AND document_id IN ({', '.join([mark] * len(part))})", (vendor, doc_type, *part))


def _newer_wins_upsert(dialect: str):
    """INSERT an open-set row, or UPDATE the document's row when this verdict is newer (a larger id):
    a slower writer of an older verdict never puts the document back in an older state. A deferral
    (``decided_id`` NULL) keeps the failure before it; a document delivered in the batch had its row
    deleted first, so its failures before that are not kept."""
    table = open_documents
    keys = [c.name for c in table.primary_key.columns]
    changed = [c.name for c in table.columns if c.name not in keys]
    if dialect in ("postgresql", "sqlite"):
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as dialect_insert
        else:
            from sqlalchemy.dialects.sqlite import insert as dialect_insert
        statement = dialect_insert(table)
        values = {k: statement.excluded[k] for k in changed}
        values["decided_id"] = func.coalesce(statement.excluded.decided_id, table.c.decided_id)
        return statement.on_conflict_do_update(index_elements=keys, set_=values,
                                               where=table.c.verdict_id < statement.excluded.verdict_id)
    if dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        statement = mysql_insert(table)
        newer = statement.inserted.verdict_id > table.c.verdict_id
        given = {k: statement.inserted[k] for k in changed}
        given["decided_id"] = func.coalesce(statement.inserted.decided_id, table.c.decided_id)
        # MariaDB assigns left to right: verdict_id last, so the others still compare with the old one
        ordered = [(k, case((newer, given[k]), else_=table.c[k])) for k in changed if k != "verdict_id"]
        ordered.append(("verdict_id", case((newer, given["verdict_id"]), else_=table.c.verdict_id)))
        return statement.on_duplicate_key_update(ordered)
    raise ValueError(f"erp-outbound keeps its bookkeeping in SQLite, PostgreSQL or MariaDB/MySQL, not {dialect}")


def _insert_rows(conn, columns: tuple[str, ...], rows: list[tuple]) -> None:
    if conn.dialect.name != "sqlite":  # pymysql makes multi-row INSERTs of an executemany itself
        conn.exec_driver_sql(_insert_sql(conn.dialect.paramstyle, columns, 1), rows)
        return
    # sqlite3's executemany steps once a row, letting go of the GIL each time: beside a busy event loop
    # every row then waits for the GIL again. A multi-row INSERT steps once for up to 2,500 rows.
    per_statement = max(1, min(2500, _variable_limit(conn) // len(columns)))
    for start in range(0, len(rows), per_statement):
        part = rows[start:start + per_statement]
        conn.exec_driver_sql(_insert_sql("qmark", columns, len(part)), tuple(chain.from_iterable(part)))


def _variable_limit(conn) -> int:
    """The most parameters one SQLite statement takes (999 before SQLite 3.32, 32,766 since)."""
    dbapi = conn.connection.dbapi_connection
    return dbapi.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) if hasattr(dbapi, "getlimit") else 999


def _bound(column, value, dialect):
    process = column.type.dialect_impl(dialect).bind_processor(dialect)  # as SQLAlchemy binds it
    return process(value) if process else value


@lru_cache(maxsize=64)
def _insert_sql(paramstyle: str, columns: tuple[str, ...], rows: int) -> str:
    mark = "?" if paramstyle == "qmark" else "%s"
    values = f"({', '.join([mark] * len(columns))})"
    return f"INSERT INTO {verdicts.name} ({', '.join(columns)}) VALUES {', '.join([values] * rows)}"


def verdict_from_row(row) -> Verdict:
    m = row._mapping
    return Verdict(
        vendor=m["vendor"],
        doc_type=m["doc_type"],
        document_id=m["document_id"],
        identifier=m["identifier"],
        outcome=Outcome(m["outcome"]),
        status=m["status"],
        message=m["message"],
        errors=json.loads(m["errors"]) if m["errors"] else {},
        error_url=m["error_url"],
        error_code=m["error_code"],
        vendor_reference=m["vendor_reference"],
        vendor_status=m["vendor_status"],
        http_status=m["http_status"],
        attempts_before=m["attempts_before"] or 0,
    )


class Journal:
    """The verdicts of one run of one DAG. ``dag_id`` None only reads and writes entries whose DAG is
    unknown (recorded before revision 0003); tasks always give theirs."""

    def __init__(self, engine: Engine, run_id: str, dry_run: bool = False, *, dag_id: str | None):
        self.engine = engine
        self.run_id = run_id
        self.dry_run = dry_run
        self.dag_id = dag_id

    def _of_this_dag(self):
        return verdicts.c.dag_id.is_(None) if self.dag_id is None else verdicts.c.dag_id == self.dag_id

    def _of_this_run(self):
        return and_(verdicts.c.run_id == self.run_id, self._of_this_dag())

    def record(self, batch: Iterable[Verdict]) -> int:
        """Store verdicts in one transaction; the count stored."""
        with self.engine.begin() as conn:
            return insert_entries(conn, batch, self.dag_id, self.run_id, self.dry_run, utcnow())

    def unapplied(self, vendor: str, limit: int = 5000) -> list[tuple[int, Verdict]]:
        """Verdicts of real runs of this DAG (this one and crashed earlier ones) not yet on the ERP.

        Another DAG's verdicts are never seen here, even of a run with the same id. Verdicts whose
        DAG is unknown (recorded before revision 0003) are any run of the vendor's to apply, as they
        were before. A verdict of another run that still holds its document's claim is left to that run: it is
        still going and applies (and reports) its verdicts itself. Two overlapping reconciles would
        otherwise both report one build error. Once that run released its claims, or died and its
        lease ran out, its verdicts are anyone's.
        """
        in_flight = select(claims.c.document_id).where(
            claims.c.vendor == verdicts.c.vendor,
            claims.c.doc_type == verdicts.c.doc_type,
            claims.c.document_id == verdicts.c.document_id,
            claims.c.run_id == verdicts.c.run_id,
            claims.c.dag_id.is_not_distinct_from(verdicts.c.dag_id),
            claims.c.lease_until >= utcnow(),
        ).exists()
        query = (
            select(verdicts)
            .where(and_(verdicts.c.vendor == vendor, verdicts.c.applied_at.is_(None),
                        verdicts.c.dry_run.is_(False),
                        or_(verdicts.c.dag_id == self.dag_id, verdicts.c.dag_id.is_(None)),
                        or_(self._of_this_run(), ~in_flight)))
            .order_by(verdicts.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(r.id, verdict_from_row(r)) for r in conn.execute(query)]

    def take(self, ids: list[int], conn) -> set[int]:
        """Mark entries applied inside ``conn``'s transaction; returns those no one else took."""
        if not ids:
            return set()
        token = str(uuid.uuid4())
        conn.execute(
            update(verdicts)
            .where(verdicts.c.id.in_(ids), verdicts.c.applied_at.is_(None))
            .values(applied_at=utcnow(), applied_by=token)
        )
        taken = select(verdicts.c.id).where(verdicts.c.id.in_(ids), verdicts.c.applied_by == token)
        return {r[0] for r in conn.execute(taken)}

    def keep_error_urls(self, urls: list[tuple[int, str]], conn) -> None:
        """Error links learnt while applying (e.g. from reporting a build error)."""
        for entry_id, url in urls:
            conn.execute(update(verdicts).where(verdicts.c.id == entry_id).values(error_url=url))

    def of_run(self, vendor: str) -> list[Verdict]:
        query = (
            select(verdicts)
            .where(and_(self._of_this_run(), verdicts.c.vendor == vendor))
            .order_by(verdicts.c.id)
        )
        with self.engine.connect() as conn:
            return [verdict_from_row(r) for r in conn.execute(query)]


class JournalWriter:
    """Records verdicts from many senders with group commits in one writer thread.

    Senders only append to a deque (no wake-up per verdict); the writer commits what
    has gathered every ``max_wait`` seconds, so a verdict is on disk within about that.
    """

    def __init__(self, journal: Journal, max_batch: int = 5000, max_wait: float = 0.05):
        self.journal = journal
        self.max_batch = max_batch
        self.max_wait = max_wait
        self._pending: deque[Verdict] = deque()
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="verdict-journal", daemon=True)
        self._error: BaseException | None = None
        self.written = 0

    def __enter__(self) -> JournalWriter:
        self._thread.start()
        return self

    def put(self, verdict: Verdict) -> None:
        if self._error:
            raise RuntimeError("the verdict journal failed; stopping delivery") from self._error
        self._pending.append(verdict)

    def __exit__(self, *exc) -> None:
        self._closing.set()
        self._thread.join()
        if self._error:
            raise RuntimeError("the verdict journal failed") from self._error

    def _run(self) -> None:
        while True:
            closing = self._closing.wait(self.max_wait)
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(self.max_batch, len(self._pending)))]
                try:
                    self.written += self.journal.record(batch)
                except BaseException as exc:  # noqa: BLE001 - surfaced to the senders
                    self._error = exc
                    return
            if closing:
                return


def new_failures(engine: Engine, report: RunReport, chunk: int = 500) -> list[dict]:
    """The report's failures that are new: no earlier verdict for the document, or a different error.

    Uncertain documents count as failures here: a person has to check them at the vendor.

    Compares with the document's latest earlier verdict in the journal (deferrals decide nothing and
    are skipped); an unchanged error of a document that keeps failing is not new.
    """
    announced = (Outcome.REJECTED.value, Outcome.BUILD_ERROR.value, Outcome.UNCERTAIN.value)
    failed = {(f["doc_type"], f["document_id"]): f for f in report.failures() + report.uncertain()
              if f["outcome"] in announced}
    document_ids = sorted({document_id for _, document_id in failed})
    previous = {}
    with engine.connect() as conn:
        for start in range(0, len(document_ids), chunk):
            query = (select(verdicts)
                     .where(verdicts.c.vendor == report.vendor,
                            verdicts.c.document_id.in_(document_ids[start:start + chunk]),
                            or_(verdicts.c.run_id != report.run_id,
                                verdicts.c.dag_id.is_distinct_from(report.dag_id)),
                            verdicts.c.dry_run.is_(False),
                            verdicts.c.outcome != Outcome.DEFERRED.value)
                     .order_by(verdicts.c.id))
            for row in conn.execute(query):
                earlier = verdict_from_row(row)
                previous[(earlier.doc_type, earlier.document_id)] = earlier  # the latest one wins
    new = []
    for key, failure in failed.items():
        earlier = previous.get(key)
        if earlier is None or (earlier.outcome.value, earlier.reason, earlier.error_code or "") != (
                failure["outcome"], failure["reason"], failure["error_code"]):
            new.append(failure)
    return new
