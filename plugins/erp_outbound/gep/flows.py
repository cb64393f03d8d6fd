"""The GEP SMART flows: acknowledging purchase order responses (and, by path, its siblings)."""

from __future__ import annotations

from erp_outbound.core.flows import Flow
from erp_outbound.gep.transforms import build_status_entries

POR_STATUS = "POR_STATUS"

FLOWS: dict[str, Flow] = {
    POR_STATUS: Flow("gep", POR_STATUS, build_status_entries, has_lines=False, number_column="gep_key"),
}
