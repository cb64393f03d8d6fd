"""Bookkeeping that stays fast and bounded (issue 26): the open set and retention.

- the open set (``erp_outbound_open_documents``) always says what grouping the whole journal says (the page's
  query before it, kept in the journal bench as the baseline), on SQLite, PostgreSQL and MariaDB;
- it is written in the journal's own transaction, and an older verdict never replaces a newer one;
- retention removes only what no run and no page needs: never the latest verdict of an open document, an
  unapplied verdict, an entry of a run holding claims, the error memory of a document that still fails, or
  the newest runs' reports; it deletes in batches of the size asked;
- pruning runs in batches while a DAG delivers (tests/run_dag.py's rendezvous: by construction, not by luck).
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select

from erp_outbound.core.storage import Folder
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp import journal as journal_module
from erp_outbound.erp import migrations
from erp_outbound.erp.claims import Claims
from erp_outbound.erp.hook import make_engine
from erp_outbound.erp.journal import Journal, new_failures
from erp_outbound.erp.retention import Retention, prune, prune_reports
from erp_outbound.erp.state import error_reports, open_documents, utcnow, verdicts
from erp_outbound.ui import attention
from erp_outbound_tools.bench.journal import baseline_known_outcomes, baseline_open_documents

DAG = "procuros_outgoing"


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def erp(request, tmp_path):
    """An ERP at the head revision with empty bookkeeping tables (the server ones are emptied first)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'erp.db'}"
    else:
        url = request.getfixturevalue(f"{request.param}_url")
    engine = make_engine(url)
    drop_bookkeeping(engine)
    migrations.upgrade(engine)
    yield engine
    drop_bookkeeping(engine)
    engine.dispose()


def drop_bookkeeping(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for table in (*migrations.BOOKKEEPING_TABLES, migrations.VERSION_TABLE):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")


def order(document_id: str, outcome: Outcome, doc_type: str = "ORDER", vendor: str = "procuros", **fields) -> Verdict:
    return Verdict(vendor=vendor, doc_type=doc_type, document_id=document_id, identifier=f"PO-{document_id}",
                   outcome=outcome, **fields)


def page(engine) -> list[tuple]:
    return [(d.vendor, d.doc_type, d.document_id, d.outcome, d.run_id, d.dag_id)
            for d in attention.open_documents(engine)]


def baseline(engine) -> list[tuple]:
    return [(d.vendor, d.doc_type, d.document_id, d.outcome, d.run_id, d.dag_id)
            for d in baseline_open_documents(engine)]


def open_set(engine) -> dict[tuple, tuple]:
    o = open_documents.c
    with engine.connect() as conn:
        return {(r.vendor, r.doc_type, r.document_id): (r.verdict_id, r.outcome)
                for r in conn.execute(select(open_documents))}


# -- the open set ------------------------------------------------------------------------------------

def test_the_open_set_always_says_what_grouping_the_journal_says(erp):
    """Derandomized: 25 batches of verdicts of three DAGs (and the DAG unknown), repeats of a document in one
    batch, dry runs; after each batch the page's answer equals the old query over the whole journal."""
    rng = random.Random(26)
    outcomes = list(Outcome)
    keys = [(vendor, doc_type, str(n)) for vendor, doc_type in (("procuros", "ORDER"), ("procuros", "INVOICE"),
                                                                 ("rambase", "INVOICE_FORWARDING"))
            for n in range(12)]
    for batch_number in range(25):
        batch = []
        for _ in range(rng.randint(1, 30)):
            vendor, doc_type, document_id = rng.choice(keys)
            batch.append(order(document_id, rng.choice(outcomes), doc_type, vendor, message=f"b{batch_number}"))
        dag_id = rng.choice([DAG, "procuros_outgoing_eu", None])
        Journal(erp, f"run-{batch_number}", rng.random() < 0.2, dag_id=dag_id).record(batch)
        assert page(erp) == baseline(erp), f"after batch {batch_number}"
    assert attention.known_outcomes(erp) == baseline_known_outcomes(erp)
    assert len(open_set(erp)) == len(page(erp)) > 0


def test_a_journal_write_that_fails_leaves_neither_the_entries_nor_the_open_set(erp, monkeypatch):
    Journal(erp, "run-1", dag_id=DAG).record([order("1", Outcome.REJECTED)])
    before = (count(erp, verdicts), open_set(erp))

    def broken(dialect):
        raise RuntimeError("the open set could not be written")

    monkeypatch.setattr(journal_module, "_newer_wins_upsert", broken)
    with pytest.raises(RuntimeError, match="open set"):
        Journal(erp, "run-2", dag_id=DAG).record([order("1", Outcome.DEFERRED), order("2", Outcome.REJECTED)])
    assert (count(erp, verdicts), open_set(erp)) == before


def test_an_older_verdict_never_puts_a_document_back(erp):
    """Two writers of one document (a release beside a run's late journal write): the larger id wins."""
    Journal(erp, "run-1", dag_id=DAG).record([order("1", Outcome.REJECTED)])
    Journal(erp, "run-2", dag_id=DAG).record([order("1", Outcome.UNCERTAIN)])
    newest = open_set(erp)[("procuros", "ORDER", "1")]
    older = newest[0] - 1
    with erp.begin() as conn:  # the slower writer of the older verdict comes last
        conn.execute(journal_module._newer_wins_upsert(erp.dialect.name), [dict(
            vendor="procuros", doc_type="ORDER", document_id="1", verdict_id=older, outcome="REJECTED",
            dag_id=DAG, recorded_at=utcnow())])
    assert open_set(erp)[("procuros", "ORDER", "1")] == newest == (newest[0], "UNCERTAIN")
    Journal(erp, "run-3", dag_id=DAG).record([order("1", Outcome.DELIVERED)])
    assert open_set(erp) == {}


# -- retention -------------------------------------------------------------------------------------------

def count(engine, table) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table)).scalar()


def remaining(engine) -> Counter:
    v = verdicts.c
    with engine.connect() as conn:
        return Counter(r[0] for r in conn.execute(select(v.document_id)))


def age(engine, days: float, *document_ids: str) -> None:
    """Make these documents' entries (and their error memory) ``days`` old."""
    at = utcnow() - timedelta(days=days)
    with engine.begin() as conn:
        conn.execute(sa.update(verdicts).where(verdicts.c.document_id.in_(document_ids))
                     .values(recorded_at=at, applied_at=sa.case((verdicts.c.applied_at.is_(None), None), else_=at)))
        conn.execute(sa.update(error_reports).where(error_reports.c.document_id.in_(document_ids))
                     .values(reported_at=at))


def apply_all(engine, dag_id: str = DAG) -> None:
    journal = Journal(engine, "reconcile", dag_id=dag_id)
    with engine.begin() as conn:  # as reconcile's apply_verdicts takes them, without the ERP's SQL
        journal.take([entry_id for entry_id, _ in journal.unapplied("procuros", limit=100_000)], conn)


def remember_error(engine, document_id: str, doc_type: str = "ORDER") -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(error_reports).values(vendor="procuros", doc_type=doc_type, document_id=document_id,
                                                     signature=f"sig-{document_id}", reported_at=utcnow()))


def test_retention_removes_only_what_no_run_and_no_page_needs(erp):
    # "1" still fails: three rejections, then a deferral; its latest must stay, with its error memory
    for run in ("a", "b", "c"):
        Journal(erp, f"run-{run}", dag_id=DAG).record([order("1", Outcome.REJECTED, message="unknown GLN")])
    Journal(erp, "run-d", dag_id=DAG).record([order("1", Outcome.DEFERRED)])
    remember_error(erp, "1")
    # "2" failed, then was delivered: all of its history may go, and its error memory
    Journal(erp, "run-a", dag_id=DAG).record([order("2", Outcome.REJECTED)])
    Journal(erp, "run-b", dag_id=DAG).record([order("2", Outcome.DELIVERED)])
    remember_error(erp, "2")
    # "3": delivered by a dry run only (never applied), old: may go
    Journal(erp, "dry", True, dag_id=DAG).record([order("3", Outcome.DELIVERED)])
    apply_all(erp)
    # "4": a crashed run's verdict, never applied: the next run applies it
    Journal(erp, "crashed", dag_id=DAG).record([order("4", Outcome.DELIVERED)])
    # "5": applied, but its run still holds its claim (reconcile not done): the run's report reads it
    claims = Claims(erp, "running", dag_id=DAG)
    assert claims.claim("procuros", "ORDER", ["5"]) == {"5"}
    Journal(erp, "running", dag_id=DAG).record([order("5", Outcome.DELIVERED)])
    with erp.begin() as conn:
        Journal(erp, "running", dag_id=DAG).take(
            [i for i, v in Journal(erp, "running", dag_id=DAG).unapplied("procuros") if v.document_id == "5"], conn)
    # "6": delivered recently: young, kept
    Journal(erp, "recent", dag_id=DAG).record([order("6", Outcome.DELIVERED)])
    age(erp, 500, "1", "2", "3", "4", "5")
    seen_before = page(erp)
    unapplied_before = Journal(erp, "next", dag_id=DAG).unapplied("procuros")

    pruned = prune(erp, None, Retention(days=400, batch=2))

    left = remaining(erp)
    assert left["1"] == 2, "of a document that still needs attention: its latest verdict and its latest failure"
    assert "2" not in left and "3" not in left
    assert left["4"] == 1 and left["5"] == 1 and left["6"] == 1
    assert pruned.journal_entries == 2 + 2 + 1
    assert page(erp) == seen_before == baseline(erp)
    assert Journal(erp, "next", dag_id=DAG).unapplied("procuros") == unapplied_before
    with erp.connect() as conn:
        memory = {r.document_id for r in conn.execute(select(error_reports))}
    assert memory == {"1"}, "the memory of a document that still fails is kept: its error is not reported twice"
    assert pruned.error_memory == 1
    assert pruned.batches >= 4 and max(pruned.batch_sizes) <= 2, pruned.batch_sizes

    # a new failure of "1" with the same error is still not new: its latest failure was kept, though
    # a deferral came after it ...
    from erp_outbound.core.report import RunReport

    report = RunReport("procuros", DAG, "run-e", verdicts=[order("1", Outcome.REJECTED, message="unknown GLN")])
    Journal(erp, "run-e", dag_id=DAG).record(report.verdicts)
    assert new_failures(erp, report) == []
    # ... and once the run holding "5" released its claim, its settled verdict may go too; so may the two
    # old entries of "1" that its new failure superseded (run-e's is now its latest verdict and failure)
    claims.release()
    apply_all(erp)
    assert prune(erp, None, Retention(days=400)).journal_entries == 1 + 2
    left = remaining(erp)
    assert "5" not in left and left["1"] == 1 and page(erp) == baseline(erp)


def test_a_dry_run_of_prune_removes_nothing_and_counts_what_would_go(erp):
    Journal(erp, "run-a", dag_id=DAG).record([order(str(n), Outcome.DELIVERED) for n in range(7)])
    apply_all(erp)
    age(erp, 30, *[str(n) for n in range(7)])
    assert prune(erp, None, Retention(days=10), dry_run=True).journal_entries == 7
    assert count(erp, verdicts) == 7
    assert prune(erp, None, Retention(days=60)).journal_entries == 0, "younger than the retention"
    assert prune(erp, None, Retention(days=10, batch=3)).batch_sizes == [3, 3, 1]
    assert count(erp, verdicts) == 0


def test_retention_settings_are_checked_and_named(monkeypatch):
    with pytest.raises(ValueError, match="days=0"):
        Retention(days=0)
    with pytest.raises(ValueError, match="batch=0"):
        Retention(batch=0)
    monkeypatch.setenv("ERP_OUTBOUND_RETENTION_DAYS", "ninety")
    with pytest.raises(ValueError, match="ERP_OUTBOUND_RETENTION_DAYS='ninety' is not a whole number"):
        Retention.from_environment()
    monkeypatch.setenv("ERP_OUTBOUND_RETENTION_DAYS", "90")
    monkeypatch.setenv("ERP_OUTBOUND_PRUNE_BATCH", "250")
    assert (Retention.from_environment().days, Retention.from_environment().batch) == (90, 250)
    assert Retention.from_environment(days=30).days == 30


def test_report_files_go_after_the_retention_but_the_newest_runs_keep_theirs(tmp_path):
    folder = Folder(tmp_path / "reports")
    now = time.time()
    for n in range(6):  # run n is n * 100 days old
        for kind in ("json", "csv", "html"):
            folder.write_text(f"procuros_outgoing__run{n}.{kind}", "{}")
            modified = now - n * 100 * 86400
            os.utime(tmp_path / "reports" / f"procuros_outgoing__run{n}.{kind}", (modified, modified))
    (tmp_path / "reports" / "notes.txt").write_text("not a report")
    os.utime(tmp_path / "reports" / "notes.txt", (now - 900 * 86400,) * 2)

    assert prune_reports(folder, Retention(days=250, reports_keep=1)) == 9  # runs 3, 4, 5
    left = sorted(name for name, _ in folder.listing())
    assert left == sorted([f"procuros_outgoing__run{n}.{k}" for n in (0, 1, 2) for k in ("json", "csv", "html")]
                          + ["notes.txt"])
    assert prune_reports(folder, Retention(days=1, reports_keep=2)) == 3  # run 2: the newest two stay
    assert {name.split(".")[0] for name, _ in folder.listing()} == {"procuros_outgoing__run0",
                                                                   "procuros_outgoing__run1", "notes"}


def test_erp_outbound_db_prune_says_what_it_removed(tmp_path, monkeypatch):
    import subprocess
    import sys
    from pathlib import Path

    url = f"sqlite:///{tmp_path / 'erp.db'}"
    engine = make_engine(url)
    migrations.upgrade(engine)
    Journal(engine, "run-a", dag_id=DAG).record([order(str(n), Outcome.DELIVERED) for n in range(5)])
    apply_all(engine)
    age(engine, 800, *[str(n) for n in range(5)])
    engine.dispose()
    cli = Path(sys.executable).with_name("erp-outbound")
    asked = subprocess.run([str(cli), "db", "prune", "--db", url, "--batch", "2", "--no-reports"],
                           capture_output=True, text=True, check=True)
    assert "Removed what is older than 400 days" in asked.stdout
    assert "5 journal entries, 0 error-report memory rows (3 batches of at most 2)" in asked.stdout
    refused = subprocess.run([str(cli), "db", "prune", "--db", url, "--days", "0"], capture_output=True, text=True)
    assert refused.returncode == 2 and "days=0" in refused.stderr


# -- pruning while a DAG delivers ------------------------------------------------------------------------

@pytest.mark.airflow
@pytest.mark.postgres
def test_pruning_runs_in_batches_while_a_dag_delivers(postgres_url, tmp_path, files, sandbox_with, monkeypatch):
    """A real procuros_outgoing run (its own process) meets this test twice (tests/run_dag.py's rendezvous):
    once holding its first claimed chunk, once before reconcile, its verdicts journaled and not yet applied.
    Each time this test prunes as if every row were years old, in batches of 25. Nothing the run needs goes:
    the run applies every verdict, each document ends as the demo ERP expects, the page agrees with the
    journal; the old history goes."""
    from conftest import connect
    from erp_outbound_tools.demo.erp import build_demo_erp
    from erp_rows import documents
    from processes import airflow_home_copy, start_dag

    summary = build_demo_erp(postgres_url, 120, seed=23)
    engine = make_engine(postgres_url)
    drop_bookkeeping(engine)
    migrations.upgrade(engine)
    # years of history of other documents: delivered and applied, all of it may go
    history = [order(f"old-{n}", Outcome.DELIVERED) for n in range(300)]
    Journal(engine, "scheduled__2024", dag_id=DAG).record(history)
    apply_all(engine)
    age(engine, 800, *[v.document_id for v in history])
    sandbox = sandbox_with(latency_ms=20)
    connect(monkeypatch, postgres_url, sandbox.base_url, max_concurrency=4)
    meeting = tmp_path / "rendezvous"
    meeting.mkdir()
    env = {"ERP_OUTBOUND_CHUNK_SIZE": "20", "ERP_OUTBOUND_TEST_RENDEZVOUS": str(meeting)}
    log = tmp_path / "run.log"
    run = start_dag("procuros_outgoing", {"report_after": 1}, env, airflow_home_copy(tmp_path / "home"), log,
                    run_after=datetime.now(timezone.utc))
    far_future = utcnow() + timedelta(days=3650)  # every row is years old to this prune
    retention = Retention(days=1, batch=25)
    batches = []
    try:
        for step in ("claimed", "reconcile"):
            wait_for(meeting, step, run, log)
            pruned = prune(engine, None, retention, now=far_future)
            batches.append(pruned.batch_sizes)
            (meeting / f"{step}.{step}-pruner").touch()  # the second party: the run goes on
        assert run.wait(timeout=600) == 0, log.read_text()
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
    text = log.read_text()
    assert "RUN-STATE success" in text, text[-3000:]
    assert len(batches[0]) >= 12 and max(batches[0]) <= 25, batches[0]  # 300 old rows, 25 at a time
    assert count(engine, verdicts) > 0
    with engine.connect() as conn:
        old_left = conn.execute(select(func.count()).where(verdicts.c.document_id.like("old-%"))).scalar()
        unapplied = conn.execute(select(func.count()).where(verdicts.c.applied_at.is_(None))).scalar()
    assert old_left == 0 and unapplied == 0
    rows = documents(postgres_url)
    expected = summary["expected_outcomes"]
    assert (rows.status == "TRANSMITTED").sum() == expected["TRANSMITTED"]
    assert (rows.status == "NO_ACTION").sum() == expected["NO_ACTION"]
    sent = sandbox.snapshot()["procuros"]["transactions"]
    with engine.connect() as conn:
        journaled = conn.execute(select(func.count()).where(
            verdicts.c.outcome.in_(["DELIVERED", "NO_ACTION", "REJECTED"]),
            verdicts.c.run_id != "scheduled__2024")).scalar()
    assert journaled == len(sent), "every answer of the run is in the journal: none was pruned under it"
    assert page(engine) == baseline(engine) and len(page(engine)) > 0
    engine.dispose()


def wait_for(meeting, step: str, run, log, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while not any(p.name != f"{step}.{step}-pruner" for p in meeting.glob(f"{step}.*")):
        if run.poll() is not None or time.monotonic() > deadline:
            raise AssertionError(f"the run never reached {step!r}:\n{log.read_text()[-3000:]}")
        time.sleep(0.05)


def test_the_journal_bench_builds_and_times_on_a_small_journal(postgres_url):
    """The bench leg works (its figures are for ``make bench LEGS=journal``, not for a test)."""
    from erp_outbound_tools.bench import journal as bench

    engine = make_engine(postgres_url)
    drop_bookkeeping(engine)
    migrations.upgrade(engine)
    built = bench.build(engine, 300, open_documents=3)
    assert (built["journal_rows"], built["open_documents"]) == (900, 3)
    timed = bench.time_queries(engine, repeat=1)
    assert all(q["same_answer"] for q in timed.values()), timed
    assert timed["what needs attention (all vendors)"]["rows"] == 3
    pruned = bench.time_prune(engine, batches=2, batch=10)
    assert (pruned["removed"], pruned["batches"]) == (20, 2)
    assert [d.document_id for d in attention.open_documents(engine)] == [
        d.document_id for d in baseline_open_documents(engine)], "pruning left the page as it was"
    drop_bookkeeping(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_orders")
    engine.dispose()
