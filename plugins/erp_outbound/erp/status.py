"""The ERP's delivery status at a glance: documents per type and Status (``erp-outbound status``)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.engine import Engine
from tabulate import tabulate

from erp_outbound.core.flows import flows
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
    return tabulate(frame.fillna(0).values.tolist(),
                    headers=["type", "status", "documents", "with error link / id", "with attempts", "max attempts"],
                    tablefmt="simple")
