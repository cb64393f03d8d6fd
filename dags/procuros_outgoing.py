"""Airflow DAG procuros_outgoing: send pending ERP documents to Procuros and write the verdicts back.

extract -> transform -> load -> reconcile; every 15 minutes (Procuros recommends 10 to
30) or from the trigger form. The logic lives in the erp_outbound package.
"""

from __future__ import annotations

from airflow.sdk import Param
from erp_outbound import dag_defaults as defaults
from erp_outbound.core.transform import BuildPayloadsOperator
from erp_outbound.erp.operators import ExtractDocumentsOperator
from erp_outbound.procuros.errors import DEFAULT_REPORT_AFTER
from erp_outbound.procuros.flows import FLOWS
from erp_outbound.procuros.operators import ProcurosReconcileOperator, ProcurosSendTransactionsOperator

DOC_TYPES = list(FLOWS)

with defaults.delivery_dag(
    "procuros_outgoing", "Send pending ERP documents to Procuros and record each verdict on the document",
    "procuros", doc_md=__doc__,
    params={
        "dry_run": defaults.dry_run("Build and validate the payloads and show what would be sent; "
                                    "send nothing and change nothing."),
        "doc_types": defaults.doc_types(DOC_TYPES, "Which outgoing document types to send (at least one)."),
        "limit": defaults.limit("documents per type"),
        "only_ids": defaults.only_ids(),
        "report_after": Param(DEFAULT_REPORT_AFTER, type="integer", **defaults.within(1, 100),
                              title="Report errors after", section=defaults.ERROR_REPORTING,
                              description="Report a document that cannot be built to Procuros (POST /v2/errors, "
                                          "shown in its portal) once it has failed this many runs; 1 = at once."),
    },
) as dag:
    extract = ExtractDocumentsOperator(
        task_id="extract",
        vendor="procuros",
        doc_types="{{ params.doc_types }}",
        limit="{{ params.limit }}",
        only_ids="{{ params.only_ids }}",
        dry_run="{{ params.dry_run }}",
    )
    transform = BuildPayloadsOperator(task_id="transform", vendor="procuros", chunks=extract.output)
    load = defaults.load_tasks(ProcurosSendTransactionsOperator, transform,
                               extracted=extract.output, dry_run="{{ params.dry_run }}")
    reconcile = ProcurosReconcileOperator(
        task_id="reconcile",
        **defaults.STEP_RESULTS,
        dry_run="{{ params.dry_run }}",
        report_after="{{ params.report_after }}",
        trigger_rule="all_done",
    )
    extract >> transform >> load >> reconcile
