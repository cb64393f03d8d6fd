"""The run's note, which Airflow shows on the run (grid, run list, run page): what the operator must know.

A task cannot set its run's note in Airflow 3.3: the execution API, a task's only way to the metadata DB, has
no call for it (the task SDK only reads ``dag_run.note``; the note is set when a run is triggered or by a
person through the REST API). So the reconcile step leaves the note as an XCom (``core.runs.RUN_NOTE_KEY``) and this
listener, which Airflow calls where the run's state is decided (the scheduler; ``dag.test()`` in one process),
writes it onto the run in that process's own session. A note a person wrote stays, first.
"""

from __future__ import annotations

from airflow.listeners import hookimpl

from erp_outbound.core import runs

NOTE_LIMIT = 1000  # characters: Airflow's dag_run_note.content


@hookimpl
def on_dag_run_success(dag_run, msg: str) -> None:
    write_note(dag_run)


@hookimpl
def on_dag_run_failed(dag_run, msg: str) -> None:
    write_note(dag_run)


def write_note(dag_run) -> None:
    from sqlalchemy.orm import object_session

    session = object_session(dag_run)
    if session is not None:  # the scheduler: its session holds the run (and its row lock) and commits it
        _note_on(dag_run, session)
        return
    # dag.test() hands listeners a run of no session: load it in one of our own
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as own:
        run = own.scalar(select(DagRun).where(DagRun.dag_id == dag_run.dag_id, DagRun.run_id == dag_run.run_id))
        if run is not None:
            _note_on(run, own)


def _note_on(dag_run, session) -> None:
    from airflow.models.xcom import XComModel

    entry = session.scalars(XComModel.get_many(run_id=dag_run.run_id, dag_ids=dag_run.dag_id,
                                               key=runs.RUN_NOTE_KEY)).first()
    if entry is None:  # not one of our DAGs, or reconcile did not get that far
        return
    text = XComModel.deserialize_value(entry)
    if not isinstance(text, str) or not text:
        return
    existing = dag_run.note or ""
    if text in existing:
        return
    dag_run.note = fit(f"{existing}\n\n{text}" if existing else text)


def fit(text: str, limit: int = NOTE_LIMIT) -> str:
    """At most ``limit`` characters, cut after a whole word."""
    if len(text) <= limit:
        return text
    tail = " … (the rest is in the run report)"
    return text[:limit - len(tail)].rsplit(" ", 1)[0] + tail
