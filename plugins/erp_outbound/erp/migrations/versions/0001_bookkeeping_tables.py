"""The bookkeeping tables, as erp-outbound 0.1 made them.

erp-outbound 0.1's tasks created them on first use (``create_all``), times as epoch seconds.
An ERP that already has them keeps them: this revision adopts each table that exists (adding a
nullable column an early build lacked) and creates the ones that are missing.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_metadata = sa.MetaData()
TABLES = (
    sa.Table(
        "erp_outbound_claims", _metadata,
        sa.Column("vendor", sa.String(32), primary_key=True),
        sa.Column("doc_type", sa.String(40), primary_key=True),
        sa.Column("document_id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("token", sa.String(36), nullable=False, index=True),
        sa.Column("lease_until", sa.Float, nullable=False),
    ),
    sa.Table(
        "erp_outbound_verdicts", _metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(250), nullable=False),
        sa.Column("vendor", sa.String(32), nullable=False),
        sa.Column("doc_type", sa.String(40), nullable=False),
        sa.Column("document_id", sa.String(64), nullable=False),
        sa.Column("identifier", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32)),
        sa.Column("message", sa.Text),
        sa.Column("errors", sa.Text),
        sa.Column("error_url", sa.String(500)),
        sa.Column("error_code", sa.String(100)),
        sa.Column("vendor_reference", sa.String(100)),
        sa.Column("http_status", sa.Integer),
        sa.Column("attempts_before", sa.Integer, nullable=False),
        sa.Column("recorded_at", sa.Float, nullable=False),
        sa.Column("dry_run", sa.Boolean, nullable=False),
        sa.Column("applied_at", sa.Float),
        sa.Column("applied_by", sa.String(36)),
        sa.Index("ix_erp_outbound_verdicts_run", "run_id"),
        sa.Index("ix_erp_outbound_verdicts_pending", "vendor", "applied_at"),
    ),
    sa.Table(
        "erp_outbound_error_reports", _metadata,
        sa.Column("vendor", sa.String(32), primary_key=True),
        sa.Column("doc_type", sa.String(40), primary_key=True),
        sa.Column("document_id", sa.String(64), primary_key=True),
        sa.Column("signature", sa.String(64), nullable=False),
        sa.Column("error_url", sa.String(500)),
        sa.Column("reported_at", sa.Float, nullable=False),
    ),
)


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    missing_columns = {table.name: _missing_columns(bind, table) for table in TABLES if table.name in existing}
    for table in TABLES:  # every table is checked before anything changes
        if table.name in existing:
            for column in missing_columns[table.name]:
                op.add_column(table.name, sa.Column(column.name, column.type, nullable=True))
        else:
            table.create(bind)


def _missing_columns(bind, table: sa.Table) -> list[sa.Column]:
    """The columns an adopted table lacks: only nullable ones an early build did not have may be added."""
    found = {column["name"] for column in sa.inspect(bind).get_columns(table.name)}
    missing = [column for column in table.columns if column.name not in found]
    required = [column.name for column in missing if not column.nullable]
    if required:
        raise RuntimeError(f"{table.name} exists but lacks the columns {', '.join(required)}; "
                           "it was not made by erp-outbound, so it cannot be adopted")
    return missing
