"""Airflow DAG rambase_invoice_forwarding: forward matched purchase order responses to their supplier invoice.

**What it does.** Reads the order responses the ERP has matched to a supplier invoice and not
forwarded yet (`extract`), builds each request (`transform`), starts RamBase's API operation
100860 for each (`load`; the request is marked before it leaves, so it is never POSTed twice) and
waits for the running operations in the triggerer, not a worker slot, up to "Wait for
operations" minutes. `reconcile` writes `FORWARDED`, or the operation's error; a request whose
answer was lost waits for a person (listed apart on the Deliveries page). Every 15 minutes or
from the trigger form.

**Where to read more** (the erp-outbound guide, inside Airflow):
[RamBase](/erp-outbound/guide/integrators/rambase) ·
[Trigger forms](/erp-outbound/guide/operators/trigger-forms) ·
[Reading a run report](/erp-outbound/guide/operators/run-report) ·
[The Deliveries page](/erp-outbound/guide/operators/deliveries) ·
[Connections](/erp-outbound/guide/integrators/connections) (`rambase_default`, `erp_default`).
"""

from __future__ import annotations

from airflow.sdk import Param
from erp_outbound import dag_defaults as defaults
from erp_outbound.rambase.flows import INVOICE_FORWARDING
from erp_outbound.rambase.operators import RambaseForwardInvoicesOperator
from erp_outbound.steps.extract import ExtractDocumentsOperator
from erp_outbound.steps.reconcile import ReconcileOperator
from erp_outbound.steps.transform import BuildPayloadsOperator

with defaults.delivery_dag(
    "rambase_invoice_forwarding", "Forward purchase order response items to supplier invoices in RamBase",
    "rambase", doc_md=__doc__, dag_file=__file__,
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
    extract = ExtractDocumentsOperator(task_id="extract", vendor="rambase", doc_types=[INVOICE_FORWARDING])
    transform = BuildPayloadsOperator(task_id="transform", vendor="rambase", chunks=extract.output)
    load = defaults.load_tasks(RambaseForwardInvoicesOperator, transform, extracted=extract.output)
    reconcile = ReconcileOperator(
        task_id="reconcile", vendor="rambase", **defaults.step_results(extract, transform, load),
        trigger_rule="all_done",
    )
    extract >> transform >> load >> reconcile
