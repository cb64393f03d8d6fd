"""What every erp-outbound DAG shares: its schedule and the trigger-form fields they all have.

Airflow only parses files in which it finds the word "airflow": a DAG file that builds its
DAG here must still say it (each one's docstring starts "Airflow DAG").
"""

from __future__ import annotations

import pendulum
from airflow.sdk import DAG, Param

from erp_outbound.core.alerts import RunFailedNotifier
from erp_outbound.pools import pool_for

EVERY_15_MINUTES = "*/15 * * * *"  # Procuros recommends 10 to 30 minutes


def delivery_dag(dag_id: str, description: str, vendor: str, params: dict, doc_md: str | None, *,
                 dag_file: str) -> DAG:
    """A DAG that runs every 15 minutes and from the trigger form, never twice at once.

    ``dag_file`` is the DAG file's ``__file__``: Airflow would otherwise name this module as the DAG's file.
    """
    dag = DAG(
        dag_id=dag_id,
        description=description,
        schedule=EVERY_15_MINUTES,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        max_active_runs=1,
        render_template_as_native_obj=True,  # form values reach operators as lists, numbers, booleans
        tags=["erp-outbound", vendor],
        doc_md=doc_md,
        params=params,
        on_failure_callback=RunFailedNotifier(),  # alerts only when the erp_outbound_alerts Variable asks
    )
    dag.fileloc = dag_file
    return dag


# Trigger-form sections (Param ``section``), shown in the order the fields first name them.
def load_tasks(operator_class, transform, **kwargs):
    """The load step: one mapped task per load part the transform step made (one for most runs).

    The executor spreads the parts over its workers; the vendor's pool bounds how many run at once.
    """
    return operator_class.partial(task_id="load", pool=pool_for(operator_class.vendor), **kwargs).expand(
        batches=transform.output)


def step_results(extract, transform, load) -> dict:
    """What the reconcile step reads, as XComArgs: what extract staged, the load parts transform
    made, and the load step's results (one per mapped load task). A step that failed left None
    (for load: fewer results than parts)."""
    return {"extracted": extract.output, "built": transform.output, "delivered": load.output}


WHAT_TO_SEND = "What to send"
RESENDING = "Resending"
ERROR_REPORTING = "Error reporting"
ADVANCED = "Advanced"

# How the form shows each document type (Param ``values_display``).
DOCUMENT_TYPE_NAMES = {
    "ORDER": "Orders",
    "ORDER_RESPONSE": "Order responses",
    "SHIPPING_NOTICE": "Shipping notices",
    "INVOICE": "Invoices",
    "CREDIT_NOTE": "Credit notes",
    "RECEIVAL_NOTICE": "Receival notices (goods received)",
    "REMITTANCE_ADVICE": "Remittance advices (payments)",
    "SALES_REPORT": "Sales reports (sell-out)",
    "PRODUCT_CATALOG": "Product catalogs (articles and prices)",
    "INVENTORY_REPORT": "Inventory reports (stock)",
    "DISPATCH_INSTRUCTION": "Dispatch instructions (to the fulfilment provider)",
    "DISPATCH_INSTRUCTION_RESPONSE": "Dispatch instruction responses (what was shipped)",
    "PURCHASE_ORDER_UPDATE": "Purchase order updates",
    "INVOICE_FORWARDING": "Order responses forwarded to supplier invoices",
    "POR_STATUS": "Purchase order response statuses",
}

# One ERP id per form line: no commas, no surrounding blanks (a pasted "1, 2" is caught);
# a blank line (the form's trailing newline) matches no document.
ERP_ID_PATTERN = r"^([^\s,]([^,]*[^\s,])?)?$"


def dry_run(description: str = "Build and check everything; send nothing, change nothing.",
            section: str = WHAT_TO_SEND) -> Param:
    return Param(False, type="boolean", title="Dry run", description=description, section=section)


def doc_types(types: list[str], description: str) -> Param:
    """A multi-select of document types: the React form lists ``examples`` as its options."""
    return Param(list(types), description, type="array", title="Document types", section=WHAT_TO_SEND,
                 items={"type": "string", "enum": list(types)}, uniqueItems=True, minItems=1,
                 examples=list(types), values_display={t: DOCUMENT_TYPE_NAMES.get(t, t) for t in types})


def within(minimum: float | None = None, maximum: float | None = None) -> dict:
    """Bounds that Airflow checks on every trigger, out of sight of the form's number input.

    The React form's number input clamps what is typed into the schema's ``minimum`` and
    ``maximum`` when the field loses focus: a typed -1 became 0 and 500 became 100, silently.
    Inside ``allOf`` the form does not see the bounds, sends what was typed, and Airflow
    refuses an out-of-range value with a message before the run is created.
    """
    bounds = {name: value for name, value in (("minimum", minimum), ("maximum", maximum)) if value is not None}
    return {"allOf": [bounds]}


def limit(what: str = "documents") -> Param:
    # "All" is the empty field (null), never a number: no typo (-1, 0) can widen a run to every pending document.
    return Param(None, type=["integer", "null"], **within(minimum=1), title="Limit", section=WHAT_TO_SEND,
                 description=f"At most this many {what}, 1 or more. Leave it empty to send all pending ones.")


def only_ids(what: str = "documents", number: str = "the document number (e.g. PO-2026-000008)") -> Param:
    # null: the form empties a cleared list to null, which means "every pending one" as [] does.
    return Param([], type=["array", "null"], items={"type": "string", "pattern": ERP_ID_PATTERN},
                 title=f"Only these {what}", section=RESENDING,
                 description=f"Send only these, one per line: the ERP id or {number}, e.g. right after "
                             "fixing them; the others wait for the next run. Only pending ones are sent; an entry "
                             "that matches no pending document is named in the log and the report. "
                             "Empty = every pending one.")


def single_type(doc_type: str) -> str:
    """How a DAG that sends one document type names it in its form, e.g. for the Limit field."""
    return f"{DOCUMENT_TYPE_NAMES[doc_type].lower()} (document type {doc_type}, the only one this DAG sends)"
