"""erp-outbound's own bookkeeping tables, kept in the ERP database beside the documents.

Keeping them in the same database lets a claim, a verdict and the document's status be
checked against each other in one place. ``erp-outbound db upgrade`` creates and migrates
them (``erp/migrations``); tasks only check that they are at this version's revision.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.types import TypeDecorator


class UtcTimestamp(TypeDecorator):
    """A point in time: TIMESTAMP WITH TIME ZONE on PostgreSQL, DATETIME(6) in UTC on MariaDB/MySQL and
    SQLite. Takes aware datetimes, gives them back in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect):
        if dialect.name in ("mysql", "mariadb"):
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"{value!r} has no time zone: bookkeeping timestamps are aware datetimes")
        value = value.astimezone(timezone.utc)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect):
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


metadata = MetaData()

# Which run may send a document right now. A lease lets a dead worker's claim expire. The key is the
# document alone: one run of one DAG holds it, whichever DAG. A run is its DAG and run id together
# (two DAGs' scheduled runs share run ids); dag_id is NULL on claims taken before revision 0003.
claims = Table(
    "erp_outbound_claims",
    metadata,
    Column("vendor", String(32), primary_key=True),
    Column("doc_type", String(40), primary_key=True),
    Column("document_id", String(64), primary_key=True),
    Column("run_id", String(250), nullable=False),
    Column("token", String(36), nullable=False, index=True),
    Column("dag_id", String(250)),
    Column("lease_until", UtcTimestamp, nullable=False),
)

# Every verdict, written the moment it is known, applied to the ERP by reconcile. Each belongs to
# one run of one DAG (dag_id, run_id); dag_id is NULL on verdicts recorded before revision 0003.
verdicts = Table(
    "erp_outbound_verdicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(250), nullable=False),
    Column("dag_id", String(250)),
    Column("vendor", String(32), nullable=False),
    Column("doc_type", String(40), nullable=False),
    Column("document_id", String(64), nullable=False),
    Column("identifier", String(200), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("status", String(32)),
    Column("message", Text),
    Column("errors", Text),  # JSON {field: [messages]}
    Column("error_url", String(500)),
    Column("error_code", String(100)),
    Column("vendor_reference", String(100)),
    Column("vendor_status", String(32)),
    Column("http_status", Integer),
    Column("attempts_before", Integer, nullable=False, default=0),
    Column("recorded_at", UtcTimestamp, nullable=False),
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("applied_at", UtcTimestamp),
    Column("applied_by", String(36)),  # the reconcile that applied it: one applier per verdict
    Index("ix_erp_outbound_verdicts_dag_run", "dag_id", "run_id"),
    Index("ix_erp_outbound_verdicts_pending", "vendor", "applied_at"),
)

# The open set: each document whose latest verdict of a real run is not final, and which verdict that
# is. Kept in the transaction that journals the verdict (erp/journal.py ``insert_entries``), so it never
# disagrees with the journal. The Deliveries page reads only these rows (and the verdicts they name):
# its cost follows what needs attention, not years of history. ``decided_id`` is the latest failure
# since the document was last final (not a deferral, which decides nothing): what a new failure is
# compared with before it is announced as new (journal.new_failures). Retention never prunes either.
open_documents = Table(
    "erp_outbound_open_documents",
    metadata,
    Column("vendor", String(32), primary_key=True),
    Column("doc_type", String(40), primary_key=True),
    Column("document_id", String(64), primary_key=True),
    Column("verdict_id", Integer, nullable=False),
    Column("decided_id", Integer),
    Column("outcome", String(16), nullable=False),
    Column("dag_id", String(250)),
    Column("recorded_at", UtcTimestamp, nullable=False),
    Index("ix_erp_outbound_open_documents_verdict", "verdict_id", unique=True),
    Index("ix_erp_outbound_open_documents_decided", "decided_id"),
    Index("ix_erp_outbound_open_documents_recorded", "vendor", "recorded_at"),
)

# The last error reported to the vendor per document, so an unchanged error is not re-sent.
error_reports = Table(
    "erp_outbound_error_reports",
    metadata,
    Column("vendor", String(32), primary_key=True),
    Column("doc_type", String(40), primary_key=True),
    Column("document_id", String(64), primary_key=True),
    Column("signature", String(64), nullable=False),
    Column("error_url", String(500)),
    Column("reported_at", UtcTimestamp, nullable=False),
)


# What a person did from the Deliveries page: one row per document per action (resend, release as
# delivered, release as pending), who and when, and what came of it (the run it started, or why not).
# ``action_id`` groups the rows of one press of a button; the page's feedback follows it.
actions = Table(
    "erp_outbound_actions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("action_id", String(36), nullable=False, index=True),
    Column("action", String(32), nullable=False),  # resend | release_delivered | release_pending
    Column("user_name", String(250), nullable=False),  # as Airflow's auth manager names the user
    Column("acted_at", UtcTimestamp, nullable=False),
    Column("dag_id", String(250), nullable=False),
    Column("vendor", String(32), nullable=False),
    Column("doc_type", String(40), nullable=False),
    Column("document_id", String(64), nullable=False),
    Column("identifier", String(200), nullable=False),
    Column("result", String(16), nullable=False),  # started | held | released | refused
    Column("run_id", String(250)),  # the run it started, or the run that already held the document
    Column("reference", String(100)),  # the vendor's reference given with a release as delivered
    Column("detail", Text),  # why it was held or refused, in words
    Index("ix_erp_outbound_actions_document", "vendor", "doc_type", "document_id"),
)


def upsert(engine: Engine, table: Table, row: dict):
    """INSERT ``row``, or UPDATE the row with its primary key: one atomic statement in each database,
    so two writers of one key at once never fail on a duplicate key."""
    keys = [c.name for c in table.primary_key.columns]
    dialect = engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(table).values(row)
        return statement.on_conflict_do_update(
            index_elements=keys, set_={k: statement.excluded[k] for k in row if k not in keys})
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table).values(row)
        return statement.on_conflict_do_update(
            index_elements=keys, set_={k: statement.excluded[k] for k in row if k not in keys})
    if dialect in ("mysql", "mariadb"):
        from sqlalchemy.dialects.mysql import insert as mysql_insert

        statement = mysql_insert(table).values(row)
        return statement.on_duplicate_key_update({k: statement.inserted[k] for k in row if k not in keys})
    raise ValueError(f"erp-outbound keeps its bookkeeping in SQLite, PostgreSQL or MariaDB/MySQL, not {dialect}")


def ensure_tables(engine: Engine) -> None:
    """Bring the tables to this version's schema, as ``erp-outbound db upgrade`` does (tools and tests; never a task)."""
    from erp_outbound.erp.migrations import upgrade

    upgrade(engine)
