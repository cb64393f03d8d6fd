"""What every erp-outbound DAG shares: its schedule and the trigger-form fields they all have.

Airflow only parses files in which it finds the word "airflow": a DAG file that builds its
DAG here must still say it (each one's docstring starts "Airflow DAG").
"""

from __future__ import annotations

import sys

import pendulum
from airflow.sdk import DAG, Param

EVERY_15_MINUTES = "*/15 * * * *"  # Procuros recommends 10 to 30 minutes


def delivery_dag(dag_id: str, description: str, vendor: str, params: dict, doc_md: str | None) -> DAG:
    """A DAG that runs every 15 minutes and from the trigger form, never twice at once."""
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
    )
    # Airflow takes the DAG's file from the frame that built it: that is the DAG file, not this one.
    dag.fileloc = sys._getframe(1).f_code.co_filename
    return dag


def dry_run(description: str = "Build and check everything; send nothing, change nothing.") -> Param:
    return Param(False, type="boolean", title="Dry run", description=description)


def limit(what: str = "documents") -> Param:
    return Param(0, type="integer", minimum=0, title="Limit", description=f"At most this many {what} (0 = all pending).")


def only_ids(what: str = "ERP document ids") -> Param:
    return Param([], type="array", items={"type": "string"}, title=f"Only these {what}",
                 description="Send just these, e.g. after fixing them. Empty = every pending one.")
