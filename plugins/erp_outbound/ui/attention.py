"""What needs attention now: each document whose latest verdict in the journal is not final.

Read from the open set (``erp_outbound_open_documents``), which the journal keeps in the same
transaction as every verdict, and the verdicts it names (by primary key). Outcomes are read as the journal holds them, as
text: an outcome this module has never heard of is shown like any other that is not final, and a
column the journal gains (such as ``dag_id``) is read when it is there.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Engine

from erp_outbound.core.flows import flows
from erp_outbound.core.report import VENDOR_NAMES, vendor_ids
from erp_outbound.core.verdict import Outcome, reason_text
from erp_outbound.erp.state import open_documents as open_set, verdicts

FINAL = frozenset(o.value for o in Outcome if o.is_final)
# The vendor may have acted on a request whose answer was lost: a person checks, then releases it
# (``erp-outbound release``). Journal entries from before Outcome.UNCERTAIN say so in their status.
UNCERTAIN = Outcome.UNCERTAIN.value
MAX_ROWS = 10_000  # read at most this many documents per page view (the newest failures first)
IDS_PER_QUERY = 1000  # verdicts read by primary key per query
# what a Document shows: the rest of a journal entry (applied_at, applied_by, http_status...) is not read
SHOWN_COLUMNS = [verdicts.c[name] for name in (
    "id", "vendor", "doc_type", "document_id", "identifier", "outcome", "status", "message", "errors",
    "attempts_before", "recorded_at", "run_id", "error_url", "error_code", "vendor_reference", "dag_id")]


def counts_attempt(outcome: str) -> bool:
    try:
        return Outcome(outcome).counts_attempt
    except ValueError:  # an outcome this version does not know
        return False


@dataclass(frozen=True)
class Document:
    """One document that needs attention, as its latest verdict left it."""

    vendor: str
    doc_type: str
    document_id: str
    identifier: str
    outcome: str
    status: str | None
    reason: str
    attempts: int
    last_failure: datetime | None
    run_id: str
    error_url: str
    error_code: str
    vendor_reference: str
    dag_id: str | None = None  # from the journal when it keeps one; else the page works it out from the run

    @property
    def uncertain(self) -> bool:
        return self.outcome == UNCERTAIN or (self.outcome == Outcome.REJECTED.value and self.status == UNCERTAIN)

    @property
    def vendor_link(self) -> str:
        ids = vendor_ids(self.vendor, self.error_code, self.vendor_reference)
        return " | ".join(p for p in (self.error_url, ids) if p)

    def as_dict(self) -> dict:
        return {"vendor": self.vendor, "doc_type": self.doc_type, "document_id": self.document_id,
                "identifier": self.identifier, "outcome": self.outcome, "uncertain": self.uncertain,
                "reason": self.reason, "attempts": self.attempts,
                "last_failure": self.last_failure.isoformat() if self.last_failure else None,
                "run_id": self.run_id, "dag_id": self.dag_id, "vendor_link": self.vendor_link,
                "error_url": self.error_url, "error_code": self.error_code}


def open_documents(engine: Engine, vendors: Iterable[str] | None = None, doc_type: str | None = None,
                   outcome: str | None = None, limit: int = MAX_ROWS) -> list[Document]:
    """Documents whose latest verdict of a real run is not final, the latest failure first.

    Read from the open set (``erp_outbound_open_documents``), which names each such document's latest
    verdict: the cost follows what needs attention, not the journal's years of history.
    """
    o = open_set.c
    # Two steps with plans no optimizer can get wrong: the order and the limit on the small open set
    # (a narrow sort), then the verdicts by primary key. One join let PostgreSQL merge-join along the
    # journal's whole primary key, and MariaDB sort the wide verdict rows, TEXT columns and all.
    chosen = select(o.verdict_id).order_by(o.recorded_at.desc(), o.verdict_id.desc()).limit(limit)
    if vendors is not None:
        chosen = chosen.where(o.vendor.in_(sorted(vendors)))
    if doc_type:
        chosen = chosen.where(o.doc_type == doc_type)
    if outcome:
        chosen = chosen.where(o.outcome == outcome)
    with engine.connect() as conn:
        ids = list(conn.execute(chosen).scalars())
        found = {}
        for start in range(0, len(ids), IDS_PER_QUERY):
            part = ids[start:start + IDS_PER_QUERY]
            for row in conn.execute(select(*SHOWN_COLUMNS).where(verdicts.c.id.in_(part))):
                found[row.id] = _document(row._mapping)
    return [found[i] for i in ids if i in found]


def known_types(engine: Engine) -> list[tuple[str, str]]:
    """The (vendor, document type) pairs to filter by: every type this version sends, and any other that
    has a document needing attention (a type of an older version). A type with nothing open filters to
    nothing, so the journal's history need not be read for it."""
    ours = {(vendor, doc_type) for vendor in VENDOR_NAMES for doc_type in flows(vendor)}
    o = open_set.c
    with engine.connect() as conn:
        seen = {tuple(r) for r in conn.execute(select(o.vendor, o.doc_type).distinct())}
    return sorted(ours | seen)


def known_outcomes(engine: Engine) -> list[str]:
    """Outcomes a document can need attention with: this version's, and any other a document is open with."""
    o = open_set.c
    with engine.connect() as conn:
        seen = {r[0] for r in conn.execute(select(o.outcome).distinct())}
    ours = [o.value for o in Outcome if not o.is_final]
    return ours + sorted(seen - set(ours) - FINAL)


def _document(m) -> Document:
    errors = json.loads(m["errors"]) if m["errors"] else {}
    outcome = m["outcome"]
    return Document(
        vendor=m["vendor"], doc_type=m["doc_type"], document_id=m["document_id"], identifier=m["identifier"],
        outcome=outcome, status=m["status"], reason=reason_text(m["message"], errors),
        attempts=(m["attempts_before"] or 0) + (1 if counts_attempt(outcome) else 0),
        last_failure=m["recorded_at"], run_id=m["run_id"], error_url=m["error_url"] or "",
        error_code=m["error_code"] or "", vendor_reference=m["vendor_reference"] or "",
        dag_id=m.get("dag_id"),
    )
