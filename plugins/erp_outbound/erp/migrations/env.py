"""Alembic's environment for the bookkeeping tables; runs only inside ``upgrade`` (never imported on its own)."""

from __future__ import annotations

from alembic import context

from erp_outbound.erp.migrations import VERSION_TABLE, include_name
from erp_outbound.erp.state import metadata


def run_migrations() -> None:
    connection = context.config.attributes["connection"]
    # include_name: only our tables (never the ERP's own); render_as_batch: SQLite alters a table by
    # copying it; transaction_per_migration: each revision commits with its version row.
    context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE,
                      include_name=include_name, render_as_batch=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
