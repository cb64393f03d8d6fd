"""gep_por_status: acknowledge the ERP's processing status of purchase order responses to GEP SMART.

extract -> transform -> load (PUT SmartInterfaceAPI/api/Order/PORStatus in batches) -> reconcile.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from erp_outbound.core.transform import BuildPayloadsOperator
from erp_outbound.erp.operators import ExtractDocumentsOperator, ReconcileOperator
from erp_outbound.gep.flows import POR_STATUS
from erp_outbound.gep.operators import POR_STATUS_PATH, GepAcknowledgeStatusOperator

with DAG(
    dag_id="gep_por_status",
    description="Acknowledge purchase order response processing status to GEP SMART",
    schedule="*/15 * * * *",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    render_template_as_native_obj=True,
    tags=["erp-outbound", "gep"],
    doc_md=__doc__,
    params={
        "dry_run": Param(False, type="boolean", title="Dry run",
                         description="Build and check the entries; send nothing, change nothing."),
        "batch_size": Param(100, type="integer", minimum=1, maximum=1000, title="Batch size",
                            description="Keys per PUT request."),
        "limit": Param(0, type="integer", minimum=0, title="Limit",
                       description="At most this many rows (0 = all pending)."),
        "only_ids": Param([], type="array", items={"type": "string"}, title="Only these ERP row ids",
                          description="Acknowledge just these rows. Empty = all pending."),
    },
) as dag:
    extract = ExtractDocumentsOperator(
        task_id="extract", vendor="gep", doc_types=[POR_STATUS],
        limit="{{ params.limit }}", only_ids="{{ params.only_ids }}", dry_run="{{ params.dry_run }}",
    )
    transform = BuildPayloadsOperator(task_id="transform", vendor="gep", chunks=extract.output)
    load = GepAcknowledgeStatusOperator(
        task_id="load", path=POR_STATUS_PATH, batch_size="{{ params.batch_size }}",
        batches=transform.output, extracted=extract.output, dry_run="{{ params.dry_run }}",
    )
    reconcile = ReconcileOperator(
        task_id="reconcile", vendor="gep",
        extracted="{{ ti.xcom_pull(task_ids='extract') }}", delivered="{{ ti.xcom_pull(task_ids='load') }}",
        dry_run="{{ params.dry_run }}", trigger_rule="all_done",
    )
    extract >> transform >> load >> reconcile
