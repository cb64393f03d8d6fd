"""Airflow DAG procuros_outgoing: send pending ERP documents to Procuros and write the verdicts back.

**What it does.** Sends the twelve document types Procuros takes from an ERP
([the twelve document types](/erp-outbound/guide/integrators/procuros#the-twelve-document-types)): {document_types}.
Reads those whose Status is empty in the ERP (`extract`, claimed so no other run sends them), builds each
one's Procuros transaction with pandas (`transform`; a document that cannot be built gets a build
error naming the field), sends it with `POST /v2/transactions` (`load`), and writes every answer
back onto its document (`reconcile`): `TRANSMITTED` or `NO_ACTION`, or the error link, the reason
and one more attempt, so it goes again next run. Build errors are reported to Procuros after
"Report errors after" failed runs. Every 15 minutes (Procuros recommends 10 to 30), never two
runs at once, or from the trigger form.

**Where to read more** (the erp-outbound guide, inside Airflow):
[Trigger forms](/erp-outbound/guide/operators/trigger-forms) (dry run, types, Limit: empty = all, Only these: ERP ids or
numbers) ·
[What happens to a document](/erp-outbound/guide/integrators/procuros#what-happens-to-a-document-procuros-seed-001) ·
[Reading a run report](/erp-outbound/guide/operators/run-report) (the reconcile task's log and its *Run report*
link) · [The Deliveries page](/erp-outbound/guide/operators/deliveries) (Browse → Deliveries) ·
[Connections](/erp-outbound/guide/integrators/connections) (`procuros_default`, `erp_default`) ·
[Mapping your own ERP](/erp-outbound/guide/integrators/mapping-your-erp).
"""

from __future__ import annotations

from airflow.sdk import Param
from erp_outbound import dag_defaults as defaults
from erp_outbound.procuros.error_reports import DEFAULT_REPORT_AFTER
from erp_outbound.procuros.flows import FLOWS
from erp_outbound.procuros.operators import ProcurosReconcileOperator, ProcurosSendTransactionsOperator
from erp_outbound.steps.extract import ExtractDocumentsOperator
from erp_outbound.steps.transform import BuildPayloadsOperator

DOC_TYPES = list(FLOWS)
# The Docs name every type this DAG sends, from the same list as the form (a new type cannot be left out).
DOC_MD = __doc__.format(document_types=", ".join(
    f"{defaults.DOCUMENT_TYPE_NAMES[t].lower()}: `{t}`" for t in DOC_TYPES))

with defaults.delivery_dag(
    "procuros_outgoing", "Send pending ERP documents to Procuros and record each verdict on the document",
    "procuros", doc_md=DOC_MD, dag_file=__file__,
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
    extract = ExtractDocumentsOperator(task_id="extract", vendor="procuros")
    transform = BuildPayloadsOperator(task_id="transform", vendor="procuros", chunks=extract.output)
    load = defaults.load_tasks(ProcurosSendTransactionsOperator, transform, extracted=extract.output)
    reconcile = ProcurosReconcileOperator(
        task_id="reconcile",
        **defaults.step_results(extract, transform, load),
        trigger_rule="all_done",
    )
    extract >> transform >> load >> reconcile
