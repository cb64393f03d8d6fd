"""pandas builder of GEP acknowledgement entries: one ``model`` entry per ERP row."""

from __future__ import annotations

from erp_outbound.core import jsontext as J
from erp_outbound.core.batch import Built, Extracted
from erp_outbound.core.build import Problems, built


def build_status_entries(data: Extracted, tz: str) -> Built:
    """{key, status, description, sourceSystemName, sourceSystemValue, lob, errorCode} per row."""
    h, problems = data.headers, Problems()
    key = J.string(h["gep_key"])
    problems.add(key.isna(), "key", "Key is mandatory: the row has no order number (gep_key)")
    entry = J.obj({
        "key": key,
        "status": J.string(h["status"]),
        "description": J.string(h["description"]),
        "sourceSystemName": J.string(h["source_system_name"]),
        "sourceSystemValue": J.string(h["source_system_value"]),
        "lob": J.string(h["lob"]),
        "errorCode": J.string(h["error_code"]),
    }, h.index)
    return built(h.assign(gep_key=h["gep_key"].astype("string").str.strip()), "gep_key", entry, problems)
