"""Pending documents: read in chunks with the user's SQL, claiming each chunk (the extract step's reading)."""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterator

import pandas as pd
from sqlalchemy.engine import Engine

from erp_outbound.core.batch import Extracted, id_text
from erp_outbound.core.flows import Flow
from erp_outbound.erp.claims import Claims
from erp_outbound.erp.sql import statement

log = logging.getLogger(__name__)


def _read(engine: Engine, clause, params: dict) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(clause, conn, params=params)


def pending_chunks(
    engine: Engine,
    flow: Flow,
    chunk_size: int = 1000,
    limit: int | None = None,
    only_ids: Collection[str] | None = None,
    claims: Claims | None = None,
    found: set[str] | None = None,
) -> Iterator[Extracted]:
    """Chunks of pending documents with their lines and parties.

    With ``claims``, only documents this run could claim are returned; without (dry run),
    nothing is written. ``limit`` caps the documents of this type; ``only_ids`` keeps
    just the documents whose ERP id or number (the flow's ``number_column``) is listed,
    and adds the entries that matched a pending document to ``found``.
    """
    pending = statement(flow.vendor, flow.sql_folder, "pending")
    wanted = {str(i) for i in only_ids} if only_ids else None
    after_id = None
    taken = 0
    while limit is None or taken < limit:
        headers = _read(engine, pending, {"after_id": after_id, "chunk_size": chunk_size})
        if headers.empty:
            return
        after_id = headers["document_id"].iloc[-1]
        if isinstance(after_id, pd.Timestamp):
            after_id = after_id.to_pydatetime()
        elif hasattr(after_id, "item"):
            after_id = after_id.item()  # numpy scalar -> Python, for the DB driver
        keys = id_text(headers["document_id"])
        if wanted is not None:
            hit = _matching(headers, keys, flow.number_column, wanted, found)
            headers, keys = headers[hit], keys[hit]
        if limit is not None:
            headers, keys = headers.head(limit - taken), keys.head(limit - taken)
        if claims is not None and not headers.empty:
            held = claims.claim(flow.vendor, flow.doc_type, keys.tolist())
            if len(held) < len(keys):
                log.info("%s: %d documents are claimed by another run; skipped", flow.doc_type, len(keys) - len(held))
            headers = headers[keys.isin(held)]
        if headers.empty:
            continue
        taken += len(headers)
        yield _complete(engine, flow, headers)


def _matching(headers: pd.DataFrame, keys: pd.Series, number_column: str | None, wanted: set[str],
              found: set[str] | None) -> pd.Series:
    """Which documents an entry of "Only these" names, by ERP id or by number."""
    hit = keys.isin(wanted)
    if found is not None:
        found.update(keys[hit])
    if number_column and number_column in headers:
        numbers = id_text(headers[number_column]).str.strip()
        by_number = numbers.isin(wanted).fillna(False).astype(bool)
        if found is not None:
            found.update(numbers[by_number])
        hit = hit | by_number
    return hit


def _complete(engine: Engine, flow: Flow, headers: pd.DataFrame) -> Extracted:
    ids = headers["document_id"].tolist()
    ids = [i.item() if hasattr(i, "item") else i for i in ids]
    lines = (
        _read(engine, statement(flow.vendor, flow.sql_folder, "lines"), {"document_ids": ids})
        if flow.has_lines else pd.DataFrame({"document_id": [], "line_number": []})
    )
    named = [headers[c] for c in flow.party_columns if c in headers]
    named += [lines[c] for c in flow.line_party_columns if c in lines]
    party_ids = sorted({v for column in named for v in id_text(column).dropna().unique()})
    parties = (
        _read(engine, statement(flow.vendor, None, "parties"), {"party_ids": party_ids})
        if party_ids else pd.DataFrame({"party_id": []})
    )
    return Extracted(headers, lines, parties)
