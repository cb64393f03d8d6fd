"""Airflow DAG gep_por_status: acknowledge the ERP's processing status of purchase order responses to GEP SMART.

extract -> transform -> load (PUT SmartInterfaceAPI/api/Order/PORStatus in batches) -> reconcile.
"""

from __future__ import annotations

from airflow.sdk import Param
from erp_outbound import dag_defaults as defaults
from erp_outbound.core.transform import BuildPayloadsOperator
from erp_outbound.erp.operators import ExtractDocumentsOperator, ReconcileOperator
from erp_outbound.gep.flows import POR_STATUS
from erp_outbound.gep.operators import POR_STATUS_PATH, GepAcknowledgeStatusOperator

with defaults.delivery_dag(
    "gep_por_status", "Acknowledge purchase order response processing status to GEP SMART", "gep", doc_md=__doc__,
    params={
        "dry_run": defaults.dry_run(),
        "limit": defaults.limit(defaults.single_type(POR_STATUS)),
        "only_ids": defaults.only_ids("statuses", "the order number GEP knows it by"),
        "batch_size": Param(100, type="integer", **defaults.within(1, 1000), title="Batch size",
                            section=defaults.ADVANCED, description="Rows (keys) per PUT request, 1 to 1000."),
    },
) as dag:
    extract = ExtractDocumentsOperator(
        task_id="extract", vendor="gep", doc_types=[POR_STATUS],
        limit="{{ params.limit }}", only_ids="{{ params.only_ids }}", dry_run="{{ params.dry_run }}",
    )
    transform = BuildPayloadsOperator(task_id="transform", vendor="gep", chunks=extract.output)
    load = defaults.load_tasks(GepAcknowledgeStatusOperator, transform, path=POR_STATUS_PATH,
                               batch_size="{{ params.batch_size }}", extracted=extract.output,
                               dry_run="{{ params.dry_run }}")
    reconcile = ReconcileOperator(
        task_id="reconcile", vendor="gep", **defaults.STEP_RESULTS,
        dry_run="{{ params.dry_run }}", trigger_rule="all_done",
    )
    extract >> transform >> load >> reconcile
