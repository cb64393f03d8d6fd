"""Alembic's environment for the bookkeeping tables; runs only inside ``upgrade`` (never imported on its own)."""

from __future__ import annotations

from alembic import context

from erp_outbound.erp.migrations import VERSION_TABLE
from erp_outbound.erp.state import metadata


def run_migrations() -> None:
    connection = context.config.attributes["connection"]
    # render_as_batch: SQLite alters a table by copying it; transaction_per_migration: on MariaDB,
    # whose DDL commits at once, a failed step leaves the ERP at the revision before it.
    context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE,
                      render_as_batch=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
