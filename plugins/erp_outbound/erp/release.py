"""Uncertain documents: list them, and release them once a person has checked them at the vendor.

A document is uncertain when its request went out and the answer was lost, and the request is not
safe to repeat (a RamBase API operation): the vendor may or may not have acted. It is left alone
(no status, no attempt, not sent again) until a person looked at the vendor and says what happened:

- ``delivered``: the vendor acted. The row gets its final status (``release_delivered.sql``); it is
  never sent again.
- ``pending``: the vendor did not act. The row is pending again (``release_pending.sql``); the next
  run sends it like any pending document.

A document type supports this with three statements in its SQL folder: ``uncertain.sql`` (the rows
to check), ``release_pending.sql`` and ``release_delivered.sql`` (each changes only an uncertain
row). The release is journaled for the DAG, already applied, so the Deliveries page no longer lists
the document as uncertain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Engine

from erp_outbound.core.flows import Flow, flows
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.journal import journal_row
from erp_outbound.erp.sql import has_statement, statement
from erp_outbound.erp.state import utcnow, verdicts

AS_DELIVERED, AS_PENDING = "delivered", "pending"
RELEASED_BY = "erp-outbound release"
STATEMENTS = ("uncertain", "release_pending", "release_delivered")


@dataclass(frozen=True)
class UncertainRow:
    """One uncertain document as ``uncertain.sql`` returns it, with what to check at the vendor."""

    vendor: str
    doc_type: str
    document_id: str
    identifier: str
    attempts: int
    check: str
    dag_id: str | None = None  # the DAG of its latest verdict, when the journal knows it
    details: dict = field(default_factory=dict)


def releasable_types(vendor: str) -> list[Flow]:
    """The vendor's document types whose uncertain documents can be listed and released."""
    return [f for f in flows(vendor).values() if all(has_statement(vendor, f.sql_folder, n) for n in STATEMENTS)]


def uncertain_rows(engine: Engine, vendor: str, doc_type: str | None = None) -> list[UncertainRow]:
    found = []
    for flow in releasable_types(vendor):
        if doc_type and flow.doc_type != doc_type:
            continue
        with engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(statement(vendor, flow.sql_folder, "uncertain"))]
        dags = _latest_dags(engine, vendor, flow.doc_type, [str(r["document_id"]) for r in rows])
        for row in rows:
            document_id = str(row["document_id"])
            texts = {k: ("" if v is None else str(v)) for k, v in row.items()}
            found.append(UncertainRow(
                vendor, flow.doc_type, document_id, texts.get("identifier") or document_id,
                int(row.get("attempts") or 0), flow.uncertain_check.format_map(_Blank(texts)),
                dags.get(document_id), {k: v for k, v in texts.items() if k not in ("document_id", "identifier")}))
    return found


def release(engine: Engine, vendor: str, dag_id: str, document_ids: Sequence[str], as_: str,
            doc_type: str | None = None, reference: str | None = None) -> tuple[list[UncertainRow], dict[str, str]]:
    """Release uncertain documents of a DAG; returns those released, and why each other id was left as it is."""
    if as_ not in (AS_DELIVERED, AS_PENDING):
        raise ValueError(f"release --as {as_!r}: say delivered (the vendor acted) or pending (it did not)")
    if reference and (as_ != AS_DELIVERED or len(set(document_ids)) != 1):
        raise ValueError("--reference is the vendor's id of one delivered document: give it with --as delivered "
                         "and a single ERP id")
    types = [f for f in releasable_types(vendor) if not doc_type or f.doc_type == doc_type]
    if not types:
        known = ", ".join(f.doc_type for f in releasable_types(vendor)) or "none"
        named = f" {doc_type}" if doc_type else ""
        raise ValueError(f"{vendor} has no document type{named} whose uncertain documents can be released "
                         f"(those that can: {known})")
    if len(types) > 1:
        raise ValueError(f"{vendor}: say which document type (--type {' or --type '.join(f.doc_type for f in types)})")
    flow = types[0]
    if as_ == AS_DELIVERED and not flow.delivered_status:
        raise ValueError(f"{vendor} {flow.doc_type} has no final status to write")
    candidates = {r.document_id: r for r in uncertain_rows(engine, vendor, flow.doc_type)}
    released, refused = [], {}
    now, at = utcnow(), datetime.now().replace(microsecond=0)  # ``at`` as write-back stamps ERP rows
    run_id = f"release__{now.isoformat(timespec='seconds')}"
    with engine.begin() as conn:  # the rows and their journal entries together
        for document_id in dict.fromkeys(str(i) for i in document_ids):
            row = candidates.get(document_id)
            if row is None:
                refused[document_id] = f"not an uncertain {flow.doc_type} document"
            elif row.dag_id and row.dag_id != dag_id:
                refused[document_id] = f"sent by the DAG {row.dag_id}, not {dag_id}"
            elif conn.execute(statement(vendor, flow.sql_folder, f"release_{as_}"), dict(
                    document_id=document_id, status=flow.delivered_status, vendor_reference=reference,
                    at=at)).rowcount == 1:
                released.append(row)
            else:  # changed since it was read
                refused[document_id] = f"no longer an uncertain {flow.doc_type} document"
        entries = [journal_row(_released_verdict(row, as_, flow, reference), dag_id, run_id, False, now)
                   | dict(applied_at=now, applied_by=RELEASED_BY) for row in released]
        if entries:
            conn.execute(insert(verdicts), entries)
    return released, refused


def _released_verdict(row: UncertainRow, as_: str, flow: Flow, reference: str | None) -> Verdict:
    if as_ == AS_DELIVERED:
        return Verdict(vendor=row.vendor, doc_type=row.doc_type, document_id=row.document_id, identifier=row.identifier,
                       outcome=Outcome.DELIVERED, status=flow.delivered_status, vendor_reference=reference,
                       attempts_before=row.attempts,
                       message="released as delivered by a person who checked it at the vendor")
    # Pending again: like a deferral, it decides nothing and the next run sends it.
    return Verdict(vendor=row.vendor, doc_type=row.doc_type, document_id=row.document_id, identifier=row.identifier,
                   outcome=Outcome.DEFERRED, attempts_before=row.attempts,
                   message="released as pending by a person who checked it at the vendor: the next run sends it again")


def _latest_dags(engine: Engine, vendor: str, doc_type: str, ids: list[str], chunk: int = 500) -> dict[str, str]:
    """The DAG of each document's latest verdict of a real run, where the journal knows it."""
    v = verdicts.c
    found: dict[str, str] = {}
    with engine.connect() as conn:
        for start in range(0, len(ids), chunk):
            latest = (select(func.max(v.id)).where(v.vendor == vendor, v.doc_type == doc_type, v.dry_run.is_(False),
                                                   v.document_id.in_(ids[start:start + chunk]))
                      .group_by(v.document_id))
            for document_id, dag_id in conn.execute(select(v.document_id, v.dag_id).where(v.id.in_(latest))):
                if dag_id:
                    found[document_id] = dag_id
    return found


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return "?"
