"""erp-outbound's own bookkeeping tables, kept in the ERP database beside the documents.

They are created on first use. Keeping them in the same database lets a claim, a verdict
and the document's status be checked against each other in one place.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

metadata = MetaData()

# Which run may send a document right now. A lease lets a dead worker's claim expire.
claims = Table(
    "erp_outbound_claims",
    metadata,
    Column("vendor", String(32), primary_key=True),
    Column("doc_type", String(40), primary_key=True),
    Column("document_id", String(64), primary_key=True),
    Column("run_id", String(250), nullable=False),
    Column("token", String(36), nullable=False, index=True),
    Column("lease_until", Float, nullable=False),
)

# Every verdict, written the moment it is known, applied to the ERP by reconcile.
verdicts = Table(
    "erp_outbound_verdicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(250), nullable=False),
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
    Column("http_status", Integer),
    Column("attempts_before", Integer, nullable=False, default=0),
    Column("recorded_at", Float, nullable=False),
    Column("dry_run", Boolean, nullable=False, default=False),
    Column("applied_at", Float),
    Column("applied_by", String(36)),  # the reconcile that applied it: one applier per verdict
    Index("ix_erp_outbound_verdicts_run", "run_id"),
    Index("ix_erp_outbound_verdicts_pending", "vendor", "applied_at"),
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
    Column("reported_at", Float, nullable=False),
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
    """Create the tables if missing. Workers starting at once race: a CREATE fails when another
    worker made that table since our check. On SQLite and MariaDB each table is created on its own
    (no transactional DDL), so one retry is not enough; every failure means one more table exists,
    so as many retries as tables always end."""
    for attempt in range(len(metadata.tables) + 1):
        try:
            metadata.create_all(engine, checkfirst=True)
            return
        except DBAPIError:
            if attempt == len(metadata.tables):
                raise
