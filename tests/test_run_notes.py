"""Issue 23, point 13: what the operator must know is on the run's note in the UI, not only in the log.

A run whose "Only these" matched nothing is no longer a plain green run, and a dry run's note says what it
would send. Airflow has no task call that sets a run's note; the reconcile step leaves it and our plugin's
listener writes it when the run ends (ui/run_notes.py). These runs go through dag.test(), which ends runs
the way the scheduler does (DagRun.update_state, listeners included).
"""

from __future__ import annotations

import json

import pytest
from conftest import connect
from erp_outbound.core.report import report_stem
from erp_outbound.ui.run_notes import NOTE_LIMIT, fit
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_outbound_tools.demo.run import load_dag

pytestmark = pytest.mark.airflow


def note_of(dag_id: str, run_id: str) -> str | None:
    from airflow.models.dagrun import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id)).note


def test_the_runs_note_names_only_these_that_matched_nothing_and_a_dry_runs_would_send(tmp_path, files, sandbox,
                                                                                    monkeypatch):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 30, seed=5)
    connect(monkeypatch, url, sandbox.base_url)
    # A DAG object per run: dag.test() renders the operators' XComArgs into values on the very objects.
    unmatched = load_dag("procuros_outgoing").test(run_conf={"only_ids": ["NO-SUCH-DOC-1"], "doc_types": ["ORDER"]})
    assert str(unmatched.state).endswith("success")
    note = note_of("procuros_outgoing", unmatched.run_id)
    assert note is not None, "the run has no note"
    assert note.startswith("Nothing was sent: no pending document.")
    assert "Only these: 'NO-SUCH-DOC-1' match no pending document of ORDER" in note

    dry = load_dag("procuros_outgoing").test(run_conf={"dry_run": True, "doc_types": ["ORDER", "INVOICE"], "limit": 4})
    assert str(dry.state).endswith("success")
    report = json.loads((files / "reports" / f"{report_stem('procuros_outgoing', dry.run_id)}.json").read_text())
    would = report["would_send"]
    assert sum(would.values()) > 0
    by_type = ", ".join(f"{t} {n}" for t, n in would.items())
    note = note_of("procuros_outgoing", dry.run_id)
    assert note.startswith(f"Dry run: would send {sum(would.values())} documents ({by_type})")
    assert "Nothing was sent or written to the ERP." in note


def test_a_long_note_is_cut_after_a_whole_word_within_airflows_limit():
    text = " ".join(f"word{i}" for i in range(400))
    cut = fit(text)
    assert len(cut) <= NOTE_LIMIT and cut.endswith("(the rest is in the run report)")
    assert cut.split(" … ")[0] == text[:len(cut.split(" … ")[0])] and text[len(cut.split(" … ")[0])] == " "
    assert fit("short") == "short"
