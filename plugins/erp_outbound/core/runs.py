"""Where a DAG run keeps its batches, and its identity in XCom and the journal."""

from __future__ import annotations

from erp_outbound.core import settings
from erp_outbound.core.storage import Folder, safe_name

# The XCom the reconcile step leaves its run's note in; the plugin's listener (ui/run_notes.py) writes it onto
# the run (a task cannot set its run's note in Airflow 3.3).
RUN_NOTE_KEY = "erp_outbound_run_note"


def run_id(context) -> str:
    return context["run_id"]


def dag_id(context) -> str:
    """A run is its DAG and its run id together: two DAGs' scheduled runs share run ids."""
    return context["dag"].dag_id


def staging_folder(context, step: str) -> Folder:
    dag_id = context["dag"].dag_id
    return Folder(settings.staging_url()).child(safe_name(dag_id), safe_name(run_id(context)), step)


def run_staging(context) -> Folder:
    return Folder(settings.staging_url()).child(safe_name(context["dag"].dag_id), safe_name(run_id(context)))
