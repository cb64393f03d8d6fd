"""Airflow assets for deliveries, so other DAGs can run when documents reached a vendor.

Each vendor and document type is one asset, named ``erp_outbound.<vendor>.<DOC_TYPE>`` with
the URI ``erp-outbound://<vendor>/<DOC_TYPE>``. Reconcile emits an event for a type only when
documents of that type were delivered in a real (not dry) run, through the vendor's asset
alias ``erp_outbound.<vendor>``: an alias is Airflow's way to emit a set of asset events
known only at run time. A downstream DAG schedules on one type::

    from erp_outbound.core.assets import delivery_asset

    with DAG("after_orders", schedule=[delivery_asset("procuros", "ORDER")]): ...

or on every delivery of a vendor with ``schedule=[vendor_alias("procuros")]``.
"""

from __future__ import annotations

from airflow.sdk import Asset, AssetAlias

from erp_outbound.core.verdict import Outcome

URI_SCHEME = "erp-outbound"


def delivery_asset(vendor: str, doc_type: str) -> Asset:
    return Asset(name=f"erp_outbound.{vendor}.{doc_type}", uri=f"{URI_SCHEME}://{vendor}/{doc_type}")


def vendor_alias(vendor: str) -> AssetAlias:
    return AssetAlias(name=f"erp_outbound.{vendor}")


def delivery_extras(summary: dict, dag_id: str, run_id: str, report_files: dict[str, str]) -> dict[str, dict]:
    """The event extra per document type that had deliveries: counts of the run and its report."""
    extras = {}
    for doc_type, counts in summary["by_type"].items():
        delivered = counts.get(Outcome.DELIVERED.value, 0)
        if summary["dry_run"] or not delivered:
            continue
        extras[doc_type] = {
            "vendor": summary["vendor"], "doc_type": doc_type, "dag_id": dag_id, "run_id": run_id,
            "delivered": delivered,
            **{o.value.lower(): counts.get(o.value, 0) for o in Outcome if o is not Outcome.DELIVERED},
            "report": report_files.get("json", ""),
        }
    return extras


def emit_deliveries(outlet_events, vendor: str, extras: dict[str, dict]) -> None:
    """Add one asset event per delivered document type to the vendor's alias."""
    alias_events = outlet_events[vendor_alias(vendor)]
    for doc_type, extra in extras.items():
        alias_events.add(delivery_asset(vendor, doc_type), extra=extra)
