"""The GEP SMART flows: acknowledging purchase order responses (and, by path, its siblings)."""

from __future__ import annotations

from erp_outbound.core.flows import Flow

POR_STATUS = "POR_STATUS"

FLOWS: dict[str, Flow] = {
    POR_STATUS: Flow(vendor="gep", doc_type=POR_STATUS, builder="erp_outbound.gep.transforms:build_status_entries",
                     has_lines=False, number_column="gep_key"),
}
