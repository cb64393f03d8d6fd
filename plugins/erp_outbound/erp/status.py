"""The ERP's delivery status at a glance: documents per type and Status, and the uncertain documents
apart with what to check at the vendor (``erp-outbound status``)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Engine
from tabulate import tabulate

from erp_outbound.core.flows import flows
from erp_outbound.core.report import VENDOR_NAMES
from erp_outbound.erp.release import uncertain_rows
from erp_outbound.erp.sql import statement


def status_frame(engine: Engine, vendor: str = "procuros") -> pd.DataFrame:
    parts = []
    with engine.connect() as conn:
        for doc_type, flow in flows(vendor).items():
            frame = pd.read_sql(statement(vendor, flow.sql_folder, "status"), conn)
            parts.append(frame.assign(doc_type=doc_type))
    frame = pd.concat(parts, ignore_index=True)
    last = last_verdicts_of_pending(engine, vendor)
    frame["status"] = [pending_label(doc_type, int(n), last) if status == "" else status
                       for doc_type, status, n in zip(frame["doc_type"], frame["status"].fillna(""),
                                                      frame["documents"].fillna(0))]
    return frame[["doc_type", "status", "documents", "with_error_url", "with_attempts", "max_attempts"]]


# Why a document with an empty Status is still pending: its latest verdict (of a real run) says.
PENDING_REASONS = {"BUILD_ERROR": "cannot be built", "REJECTED": "refused by the vendor",
                   "DEFERRED": "deferred (vendor away)", "UNCERTAIN": "uncertain: check at the vendor"}


def last_verdicts_of_pending(engine: Engine, vendor: str) -> dict[str, dict[str, int]]:
    """Per document type, how many documents' latest verdict is each not-final outcome."""
    from sqlalchemy import func, select

    from erp_outbound.erp.state import verdicts

    latest = (select(func.max(verdicts.c.id).label("id"))
              .where(verdicts.c.vendor == vendor, verdicts.c.dry_run.is_(False))
              .group_by(verdicts.c.doc_type, verdicts.c.document_id).subquery())
    query = (select(verdicts.c.doc_type, verdicts.c.outcome, func.count())
             .join(latest, verdicts.c.id == latest.c.id)
             .where(verdicts.c.outcome.in_(list(PENDING_REASONS)))
             .group_by(verdicts.c.doc_type, verdicts.c.outcome))
    counts: dict[str, dict[str, int]] = {}
    try:
        with engine.connect() as conn:
            for doc_type, outcome, n in conn.execute(query):
                counts.setdefault(doc_type, {})[outcome] = n
    except Exception:  # noqa: BLE001 - no bookkeeping tables yet (nothing ran): nothing to tell apart
        return {}
    return counts


def pending_label(doc_type: str, documents: int, last: dict[str, dict[str, int]]) -> str:
    """"(pending)" with why: e.g. "(pending: 3 cannot be built, 2 refused by the vendor, 40 not tried yet)"."""
    reasons = last.get(doc_type, {})
    parts = [f"{reasons[o]} {PENDING_REASONS[o]}" for o in PENDING_REASONS if reasons.get(o)]
    untried = documents - sum(reasons.values())
    if untried > 0 and parts:
        parts.append(f"{untried} not tried yet")
    return f"(pending: {', '.join(parts)})" if parts else "(pending)"


def render_status(engine: Engine, vendor: str = "procuros") -> str:
    frame = status_frame(engine, vendor)
    text = tabulate(frame.fillna(0).values.tolist(),
                    headers=["type", "status", "documents", "with error link / id", "with attempts", "max attempts"],
                    tablefmt="simple")
    return "\n\n".join(p for p in (text, render_uncertain(engine, vendor)) if p)


def render_uncertain(engine: Engine, vendor: str) -> str:
    """The uncertain documents apart: what to check at the vendor, and the command that releases them."""
    rows = uncertain_rows(engine, vendor)
    if not rows:
        return ""
    name = VENDOR_NAMES.get(vendor, vendor)
    table = tabulate([[r.doc_type, r.identifier, r.document_id, r.dag_id or "?", f"{name}: {r.check}"] for r in rows],
                     headers=["type", "document", "ERP id", "DAG", "check at the vendor"], tablefmt="simple",
                     disable_numparse=True)
    dags = sorted({r.dag_id or "<DAG>" for r in rows})
    return (f"Uncertain: check at the vendor ({len(rows)}). The request went out and its answer was lost; the "
            "document is not sent again until you release it:\n"
            f"{table}\n"
            f"Once checked: erp-outbound release --vendor {vendor} --dag {' | '.join(dags)} --as delivered "
            "<ERP id>...  (the vendor acted: its final status is written)\n"
            f"          or: erp-outbound release --vendor {vendor} --dag {' | '.join(dags)} --as pending "
            "<ERP id>...    (it did not: the next run sends it again)")
