"""Times become timestamp columns.

claims.lease_until, verdicts.recorded_at / applied_at and error_reports.reported_at turn from
epoch seconds into TIMESTAMP WITH TIME ZONE on PostgreSQL, DATETIME(6) in UTC on MariaDB/MySQL
and SQLite. Each value is converted where it lies, to the same instant.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
# table -> {column: nullable}
COLUMNS = {
    "erp_outbound_claims": {"lease_until": False},
    "erp_outbound_verdicts": {"recorded_at": False, "applied_at": True},
    "erp_outbound_error_reports": {"reported_at": False},
}
PENDING_INDEX = ("ix_erp_outbound_verdicts_pending", "erp_outbound_verdicts", ["vendor", "applied_at"])


def _from_epoch(column: str) -> str:
    """SQL turning epoch seconds into this database's timestamp, in UTC."""
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        return f"to_timestamp({column})"
    if dialect in ("mysql", "mariadb"):
        return f"FROM_UNIXTIME({column})"  # in the session's time zone, set to UTC below
    if dialect == "sqlite":  # the text SQLAlchemy writes: 'YYYY-MM-DD HH:MM:SS.ffffff'
        return (f"printf('%s.%06d', strftime('%Y-%m-%d %H:%M:%S', {column}, 'unixepoch'), "
                f"({column} - CAST({column} AS INTEGER)) * 1000000)")
    raise NotImplementedError(f"erp-outbound keeps its tables in SQLite, PostgreSQL or MariaDB/MySQL, not {dialect}")


def upgrade() -> None:
    bind = op.get_bind()
    session_zone = None
    if bind.dialect.name in ("mysql", "mariadb"):
        session_zone = bind.exec_driver_sql("SELECT @@session.time_zone").scalar()
        bind.exec_driver_sql("SET time_zone = '+00:00'")
    index, index_table, index_columns = PENDING_INDEX
    op.drop_index(index, table_name=index_table)  # it holds applied_at, which is replaced
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(sa.Column(f"{column}_ts", TIMESTAMP, nullable=True))
        for column in columns:
            op.execute(f"UPDATE {table} SET {column}_ts = {_from_epoch(column)} WHERE {column} IS NOT NULL")
        with op.batch_alter_table(table) as batch:
            for column, nullable in columns.items():
                batch.drop_column(column)
                batch.alter_column(f"{column}_ts", new_column_name=column, existing_type=TIMESTAMP,
                                   nullable=nullable)
    op.create_index(index, index_table, index_columns)
    if session_zone is not None:
        bind.exec_driver_sql("SET time_zone = %s", (session_zone,))
