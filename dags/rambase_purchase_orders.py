"""Airflow DAG rambase_purchase_orders: push pending purchase-order updates into RamBase.

**What it does.** Reads the purchase-order updates RamBase has not taken yet (`extract`), checks
them against RamBase's rules and builds each request with pandas (`transform`; an id below
RamBase's minimum or a bad currency is a build error naming the field), sends
`PUT procurement/orders/{id}` (`load`) and writes RamBase's answer onto the ERP row
(`reconcile`): `SYNCED`, or RamBase's error message and error id and one more attempt. Every 15
minutes or from the trigger form.

**Where to read more** (the erp-outbound guide, inside Airflow):
[RamBase](/erp-outbound/guide/integrators/rambase) ·
[Trigger forms](/erp-outbound/guide/operators/trigger-forms) (dry run, Limit: empty = all, Only these: ERP ids or
RamBase purchase order ids) · [Reading a run report](/erp-outbound/guide/operators/run-report) ·
[The Deliveries page](/erp-outbound/guide/operators/deliveries) ·
[Connections](/erp-outbound/guide/integrators/connections) (`rambase_default`, `erp_default`).
"""

from __future__ import annotations

from erp_outbound import dag_defaults as defaults
from erp_outbound.rambase.flows import PURCHASE_ORDER_UPDATE
from erp_outbound.rambase.operators import RambaseUpdatePurchaseOrdersOperator
from erp_outbound.steps.extract import ExtractDocumentsOperator
from erp_outbound.steps.reconcile import ReconcileOperator
from erp_outbound.steps.transform import BuildPayloadsOperator

with defaults.delivery_dag(
    "rambase_purchase_orders", "Update purchase orders in RamBase and record each answer on the ERP row",
    "rambase", doc_md=__doc__, dag_file=__file__,
    params={"dry_run": defaults.dry_run(), "limit": defaults.limit(defaults.single_type(PURCHASE_ORDER_UPDATE)),
            "only_ids": defaults.only_ids("updates", "the RamBase purchase order id")},
) as dag:
    extract = ExtractDocumentsOperator(task_id="extract", vendor="rambase", doc_types=[PURCHASE_ORDER_UPDATE])
    transform = BuildPayloadsOperator(task_id="transform", vendor="rambase", chunks=extract.output)
    load = defaults.load_tasks(RambaseUpdatePurchaseOrdersOperator, transform, extracted=extract.output)
    reconcile = ReconcileOperator(
        task_id="reconcile", vendor="rambase", **defaults.step_results(extract, transform, load),
        trigger_rule="all_done",
    )
    extract >> transform >> load >> reconcile
