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
    frame["status"] = frame["status"].replace("", "(pending)")
    return frame[["doc_type", "status", "documents", "with_error_url", "with_attempts", "max_attempts"]]


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
