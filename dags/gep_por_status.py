"""Airflow DAG gep_por_status: acknowledge the ERP's processing status of purchase order responses to GEP SMART.

**What it does.** Reads the purchase order responses whose acknowledgement to GEP is pending
(`extract`), builds one status entry per row with pandas (`transform`; a row without an order
number is a build error), sends them in batches with
`PUT SmartInterfaceAPI/api/Order/PORStatus` (`load`, "Batch size" per request) and decides each
row by GEP's answer for its key (`reconcile`): `ACKNOWLEDGED`, or GEP's error codes and one more
attempt; a key GEP does not mention goes again next run. Every 15 minutes or from the trigger form.

**Where to read more** (the erp-outbound guide, inside Airflow):
[GEP SMART](/erp-outbound/guide/integrators/gep) ·
[Trigger forms](/erp-outbound/guide/operators/trigger-forms) ·
[Reading a run report](/erp-outbound/guide/operators/run-report) ·
[The Deliveries page](/erp-outbound/guide/operators/deliveries) ·
[Connections](/erp-outbound/guide/integrators/connections) (`gep_smart_default`, `erp_default`).
"""

from __future__ import annotations

from airflow.sdk import Param
from erp_outbound import dag_defaults as defaults
from erp_outbound.gep.flows import POR_STATUS
from erp_outbound.gep.operators import POR_STATUS_PATH, GepAcknowledgeStatusOperator
from erp_outbound.steps.extract import ExtractDocumentsOperator
from erp_outbound.steps.reconcile import ReconcileOperator
from erp_outbound.steps.transform import BuildPayloadsOperator

with defaults.delivery_dag(
    "gep_por_status", "Acknowledge purchase order response processing status to GEP SMART", "gep",
    doc_md=__doc__, dag_file=__file__,
    params={
        "dry_run": defaults.dry_run(),
        "limit": defaults.limit(defaults.single_type(POR_STATUS)),
        "only_ids": defaults.only_ids("statuses", "the order number GEP knows it by"),
        "batch_size": Param(100, type="integer", **defaults.within(1, 1000), title="Batch size",
                            section=defaults.ADVANCED, description="Rows (keys) per PUT request, 1 to 1000."),
    },
) as dag:
    extract = ExtractDocumentsOperator(task_id="extract", vendor="gep", doc_types=[POR_STATUS])
    transform = BuildPayloadsOperator(task_id="transform", vendor="gep", chunks=extract.output)
    load = defaults.load_tasks(GepAcknowledgeStatusOperator, transform, path=POR_STATUS_PATH, extracted=extract.output)
    reconcile = ReconcileOperator(
        task_id="reconcile", vendor="gep", **defaults.step_results(extract, transform, load),
        trigger_rule="all_done",
    )
    extract >> transform >> load >> reconcile
