"""Write-back: apply recorded verdicts to the ERP documents with the user's SQL.

A chunk of verdicts is taken from the journal and applied in one transaction, so each
verdict is written exactly once, even if reconcile dies halfway or two runs overlap.
Document ids are passed as text: every database compares them correctly with integer
or text key columns.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.engine import Engine

from erp_outbound.core.settings import erp_now
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp.journal import Journal
from erp_outbound.erp.sql import has_statement, statement


def apply_verdicts(
    engine: Engine,
    journal: Journal,
    entries: Sequence[tuple[int, Verdict]],
) -> dict[str, int]:
    """Apply journal entries; returns counts per outcome applied."""
    if not entries:
        return {}
    now = erp_now()
    with engine.begin() as conn:
        taken = journal.take([entry_id for entry_id, _ in entries], conn)
        mine = [(entry_id, v) for entry_id, v in entries if entry_id in taken]
        journal.keep_error_urls([(entry_id, v.error_url) for entry_id, v in mine if v.error_url], conn)
        return _apply(conn, [v for _, v in mine], now)


def _apply(conn, entries: Sequence[Verdict], now: datetime) -> dict[str, int]:
    delivered: dict[tuple[str, str], list[dict]] = defaultdict(list)
    failed: dict[tuple[str, str], list[dict]] = defaultdict(list)
    uncertain: dict[tuple[str, str], list[dict]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for v in entries:
        key = (v.vendor, v.doc_type)
        if v.outcome.is_final:
            delivered[key].append(dict(document_id=v.document_id, status=v.status, message=v.message,
                                       vendor_reference=v.vendor_reference, vendor_status=v.vendor_status, at=now))
        elif v.outcome.counts_attempt:
            failed[key].append(dict(document_id=v.document_id, error_url=v.error_url, error_code=v.error_code,
                                    status=v.status, last_error=v.reason[:4000], vendor_reference=v.vendor_reference,
                                    at=now))
        elif v.outcome is Outcome.UNCERTAIN:
            uncertain[key].append(dict(document_id=v.document_id, last_error=v.reason[:4000],
                                       vendor_reference=v.vendor_reference, at=now))
        counts[v.outcome.value] += 1
    for (vendor, doc_type), rows in delivered.items():
        conn.execute(statement(vendor, doc_type, "mark_delivered"), rows)
    for (vendor, doc_type), rows in failed.items():
        conn.execute(statement(vendor, doc_type, "mark_failed"), rows)
    for (vendor, doc_type), rows in uncertain.items():
        # No status, no attempt. A type whose request leaves a mark of its own (RamBase's
        # operation_requested_at) says what to check on the row; the others are left untouched.
        if has_statement(vendor, doc_type, "mark_uncertain"):
            conn.execute(statement(vendor, doc_type, "mark_uncertain"), rows)
    return dict(counts)

