"""Airflow DAG rambase_invoice_forwarding: forward matched purchase order responses to their supplier invoice.

extract -> transform -> load (API operation 100860, waiting in the triggerer) -> reconcile.
"""

from __future__ import annotations

from airflow.sdk import Param
from erp_outbound import dag_defaults as defaults
from erp_outbound.core.transform import BuildPayloadsOperator
from erp_outbound.erp.operators import ExtractDocumentsOperator, ReconcileOperator
from erp_outbound.rambase.flows import INVOICE_FORWARDING
from erp_outbound.rambase.operators import RambaseForwardInvoicesOperator

with defaults.delivery_dag(
    "rambase_invoice_forwarding", "Forward purchase order response items to supplier invoices in RamBase",
    "rambase", doc_md=__doc__,
    params={
        "dry_run": defaults.dry_run("Build and check the requests; start no operation, change nothing."),
        "limit": defaults.limit(defaults.single_type(INVOICE_FORWARDING)),
        "only_ids": defaults.only_ids("order responses", "the RamBase purchase order response id"),
        "wait_minutes": Param(30, type="number", **defaults.within(0.01, 720), title="Wait for operations (minutes)",
                              section=defaults.ADVANCED,
                              description="How long the triggerer waits for started RamBase operations (up to 720); "
                                          "the ones still running are picked up by the next run."),
    },
) as dag:
    extract = ExtractDocumentsOperator(
        task_id="extract", vendor="rambase", doc_types=[INVOICE_FORWARDING],
        limit="{{ params.limit }}", only_ids="{{ params.only_ids }}", dry_run="{{ params.dry_run }}",
    )
    transform = BuildPayloadsOperator(task_id="transform", vendor="rambase", chunks=extract.output)
    load = defaults.load_tasks(RambaseForwardInvoicesOperator, transform, extracted=extract.output,
                               dry_run="{{ params.dry_run }}", timeout_seconds="{{ params.wait_minutes * 60 }}")
    reconcile = ReconcileOperator(
        task_id="reconcile", vendor="rambase", **defaults.STEP_RESULTS,
        dry_run="{{ params.dry_run }}", trigger_rule="all_done",
    )
    extract >> transform >> load >> reconcile
