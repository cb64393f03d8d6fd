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


def take_vendor_pool(operator_kwargs: dict, vendor: str) -> None:
    """Give a vendor task its vendor's pool, unless ``pool`` is passed or in the DAG's default_args.

    Call it in an operator's ``__init__`` before ``super().__init__``: Airflow hands every
    ``__init__`` the merged default_args, and fills ``pool`` from them only later.
    """
    if vendor not in POOLS:  # a vendor without a pool of its own keeps Airflow's default pool
        return
    if "pool" not in operator_kwargs and "pool" not in (operator_kwargs.get("default_args") or {}):
        operator_kwargs["pool"] = pool_for(vendor)


def import_file() -> dict:
    """The pools as ``airflow pools import`` reads them."""
    return {p.name: {"slots": p.slots, "description": p.description, "include_deferred": False}
            for p in POOLS.values()}


if __name__ == "__main__":
    # python -m erp_outbound.pools > pools.json && airflow pools import pools.json
    import json

    print(json.dumps(import_file(), indent=2))
