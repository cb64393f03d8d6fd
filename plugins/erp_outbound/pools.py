"""Per-vendor Airflow pools: every task that talks to a vendor takes a slot of its vendor's pool.

A connection's ``max_concurrency`` and ``max_requests_per_second`` hold per task; the
pool bounds how many such tasks run at once, across DAGs and workers. So a vendor never
sees more than ``slots x max_concurrency`` requests in flight.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VendorPool:
    name: str
    slots: int
    description: str


POOLS: dict[str, VendorPool] = {
    "procuros": VendorPool("erp_outbound_procuros", 2, "Tasks sending to Procuros at once (all erp-outbound DAGs)"),
    "rambase": VendorPool("erp_outbound_rambase", 2, "Tasks sending to RamBase at once (all erp-outbound DAGs)"),
    "gep": VendorPool("erp_outbound_gep_smart", 2, "Tasks sending to GEP SMART at once (all erp-outbound DAGs)"),
}


def pool_for(vendor: str) -> str:
    return POOLS[vendor].name
