"""rambase_purchase_orders: push pending purchase-order updates into RamBase.

extract -> transform -> load (PUT procurement/orders/{id}) -> reconcile.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from erp_outbound.core.transform import BuildPayloadsOperator
from erp_outbound.erp.operators import ExtractDocumentsOperator, ReconcileOperator
from erp_outbound.rambase.flows import PURCHASE_ORDER_UPDATE
from erp_outbound.rambase.operators import RambaseUpdatePurchaseOrdersOperator

with DAG(
    dag_id="rambase_purchase_orders",
    description="Update purchase orders in RamBase and record each answer on the ERP row",
    schedule="*/15 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    tags=["erp-outbound", "rambase"],
    doc_md=__doc__,
    params={
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description="Build and check the updates; send nothing, change nothing."),
        "limit": Param(0, type="integer", minimum=0, title="Limit",
                       description="At most this many updates (0 = all pending)."),
        "only_ids": Param([], type="array", items={"type": "string"}, title="Only these ERP row ids",
                          description="Send just these rows, e.g. after fixing them. Empty = all pending."),
    },
) as dag:
    extract = ExtractDocumentsOperator(
        task_id="extract", vendor="rambase", doc_types=[PURCHASE_ORDER_UPDATE],
        limit="{{ params.limit }}", only_ids="{{ params.only_ids }}", dry_run="{{ params.dry_run }}",
    )
    transform = BuildPayloadsOperator(task_id="transform", vendor="rambase", chunks=extract.output)
    load = RambaseUpdatePurchaseOrdersOperator(
        task_id="load", batches=transform.output, extracted=extract.output, dry_run="{{ params.dry_run }}",
    )
    reconcile = ReconcileOperator(
        task_id="reconcile", vendor="rambase",
        extracted="{{ ti.xcom_pull(task_ids='extract') }}", delivered="{{ ti.xcom_pull(task_ids='load') }}",
        dry_run="{{ params.dry_run }}", trigger_rule="all_done",
    )
    extract >> transform >> load >> reconcile
