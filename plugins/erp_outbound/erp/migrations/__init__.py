"""Versioned migrations of erp-outbound's bookkeeping tables (Alembic, as Airflow migrates its own).

``erp-outbound db upgrade`` runs :func:`upgrade`; every task's ERP engine runs :func:`check`,
which fails with the command to run when the tables are missing or at another revision. A
task never creates or alters a table. Alembic keeps the revision in a table of its own,
``erp_outbound_alembic_version``, so it never meets another Alembic history in the same database.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from airflow.sdk.exceptions import AirflowFailException
from sqlalchemy import inspect
from sqlalchemy.engine import Connection, Engine

# Alembic is imported where a revision is read or run: the ERP hook imports this module, DAG files import
# the hook's operators, and Airflow parses DAG files every 30 seconds.
if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "erp_outbound_alembic_version"
BOOKKEEPING_TABLES = ("erp_outbound_claims", "erp_outbound_verdicts", "erp_outbound_error_reports",
                      "erp_outbound_actions", "erp_outbound_open_documents")
SCRIPTS = Path(__file__).resolve().parent


def include_name(name: str | None, type_: str, _parent_names: dict) -> bool:
    """Autogenerate looks at our tables only: the ERP's own tables are none of its business."""
    return type_ != "table" or name in BOOKKEEPING_TABLES


class ErpSchemaError(AirflowFailException):
    """The bookkeeping tables are missing or at another revision: fail now, retries cannot help."""


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPTS))
    config.attributes["connection"] = connection
    return config


@lru_cache(maxsize=1)
def head() -> str:
    """The revision this version of erp-outbound works with."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(connection: Connection) -> str | None:
    """The ERP's revision, None when it has never been migrated."""
    from alembic.runtime.migration import MigrationContext

    chatter = logging.getLogger("alembic.runtime.migration")  # "Context impl ..." on every look
    level = chatter.level
    chatter.setLevel(logging.WARNING)
    try:
        return MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE}).get_current_revision()
    finally:
        chatter.setLevel(level)


def upgrade(engine: Engine, revision: str = "head") -> tuple[str | None, str | None]:
    """Create or migrate the bookkeeping tables; returns the revisions before and after."""
    from alembic import command

    with engine.connect() as connection:
        before = current(connection)
        connection.commit()  # Alembic opens a transaction per revision (env.py)
        command.upgrade(alembic_config(connection), revision)
        after = current(connection)
        connection.commit()
        return before, after


def check(engine: Engine, conn_id: str | None = None) -> None:
    """Raise :class:`ErpSchemaError` naming the command to run unless the ERP is at :func:`head`."""
    with engine.connect() as connection:
        found = current(connection)
        wanted = head()
        if found == wanted:
            return
        tables = set(inspect(connection).get_table_names()) & set(BOOKKEEPING_TABLES)
    where = engine.url.render_as_string(hide_password=True)
    command_line = f"erp-outbound db upgrade --conn-id {conn_id}" if conn_id else "erp-outbound db upgrade --db <ERP URL>"
    if found is None and not tables:
        problem = "has no erp-outbound bookkeeping tables yet"
    elif found is None:
        problem = ("has erp-outbound's bookkeeping tables from before versioned migrations "
                   "(timestamps stored as numbers)")
    elif found in _known_revisions():
        problem = f"has the bookkeeping tables at revision {found}; this erp-outbound needs {wanted}"
    else:
        raise ErpSchemaError(
            f"The ERP database {where} has the bookkeeping tables at revision {found}, which this erp-outbound "
            f"does not know (it needs {wanted}): a newer erp-outbound migrated it. Run that version.")
    raise ErpSchemaError(f"The ERP database {where} {problem}. Run `{command_line}` once "
                         "(tasks never create or alter tables), then run the DAG again.")


@lru_cache(maxsize=1)
def _known_revisions() -> frozenset[str]:
    from alembic.script import ScriptDirectory

    return frozenset(script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions())
