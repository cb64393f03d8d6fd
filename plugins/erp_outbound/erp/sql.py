"""The user's SQL: one folder per vendor and document type under ``include/sql``.

Each folder holds the statements a document type needs (see ``include/sql/README.md``).
Users edit these files to point erp-outbound at their own ERP tables; the column
aliases the statements return are the contract with the transforms. ``ERP_OUTBOUND_SQL_DIR``
names the user's folder; without it, the SQL that came with erp-outbound (the demo ERP's
mapping): the wheel's bundled copy, or the checkout's ``include/sql``.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from sqlalchemy import bindparam, text
from sqlalchemy.sql.elements import TextClause

from erp_outbound.resources import include_dir


def sql_root() -> Path:
    return Path(os.environ.get("ERP_OUTBOUND_SQL_DIR") or include_dir() / "sql")


@lru_cache(maxsize=256)
def _load(path: str) -> TextClause:
    source = Path(path).read_text(encoding="utf-8")
    clause = text(source)
    # Parameters named ``*_ids`` are lists, expanded into IN (...).
    names = sorted(set(re.findall(r"(?<!:):([a-z_]+_ids)\b", source)))
    if names:
        clause = clause.bindparams(*(bindparam(n, expanding=True) for n in names))
    return clause


def has_statement(vendor: str, doc_type: str, name: str) -> bool:
    """Whether a document type has the optional statement ``name`` (e.g. ``mark_uncertain``)."""
    return (sql_root() / vendor / doc_type.lower() / f"{name}.sql").is_file()


def statement(vendor: str, doc_type: str | None, name: str) -> TextClause:
    """Statement ``name`` of a document type, or of the vendor when ``doc_type`` is None."""
    folder = sql_root() / vendor
    if doc_type:
        folder = folder / doc_type.lower()
    path = folder / f"{name}.sql"
    if not path.is_file():
        raise FileNotFoundError(
            f"No SQL file {path}: every {vendor} document type needs it (see include/sql/README.md)"
        )
    return _load(str(path))
