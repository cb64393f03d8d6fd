"""The bookkeeping tables' migrations: `erp-outbound db upgrade` on SQLite, PostgreSQL and MariaDB.

- a fresh ERP gets the tables at the head revision, exactly as the model (erp/state.py) says;
- an ERP whose tables erp-outbound 0.1 made with create_all (times as epoch floats) is adopted,
  its rows kept and its times turned into the same instants as timestamps;
- a task never creates a table: one that finds them missing or old fails with the command to run.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from conftest import connect
from erp_outbound.core.verdict import Outcome, Verdict
from erp_outbound.erp import migrations, state
from erp_outbound.erp.claims import Claims
from erp_outbound.erp.hook import ErpHook, make_engine
from erp_outbound.erp.journal import Journal
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_outbound_tools.demo.run import load_dag

LEGACY = importlib.import_module("erp_outbound.erp.migrations.versions.0001_bookkeeping_tables")
CLI = Path(sys.executable).with_name("erp-outbound")
EPOCH = 1_790_000_000.25  # 2026-09-21, a quarter second past

DAG = "procuros_outgoing"


@pytest.fixture(params=["sqlite", "postgres", "mariadb"])
def erp(request, tmp_path):
    """An engine on an ERP database without any erp-outbound table (the server ones are emptied first)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'erp.db'}"
    else:
        url = request.getfixturevalue(f"{request.param}_url")
    engine = make_engine(url)
    drop_bookkeeping(engine)
    yield engine
    drop_bookkeeping(engine)
    engine.dispose()


def drop_bookkeeping(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        for table in (*migrations.BOOKKEEPING_TABLES, migrations.VERSION_TABLE):
            conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")


def differences(engine: sa.Engine) -> list:
    """What Alembic's autogenerate finds between the database and the model: nothing, when migrations are right."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": migrations.include_name,
                                                         "version_table": migrations.VERSION_TABLE})
        return compare_metadata(context, state.metadata)


def bookkeeping_tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names()) & {*migrations.BOOKKEEPING_TABLES, migrations.VERSION_TABLE}


# -- a fresh ERP ---------------------------------------------------------------------------------

def test_upgrade_creates_the_tables_as_the_model_says(erp):
    with pytest.raises(migrations.ErpSchemaError, match="has no erp-outbound bookkeeping tables yet"):
        migrations.check(erp)

    assert migrations.upgrade(erp) == (None, migrations.head())
    assert differences(erp) == []
    migrations.check(erp)
    assert migrations.upgrade(erp) == (migrations.head(), migrations.head()), "running it again changes nothing"


def test_times_are_timestamp_columns(erp):
    migrations.upgrade(erp)
    timed = {"erp_outbound_claims": ["lease_until"], "erp_outbound_verdicts": ["recorded_at", "applied_at"],
             "erp_outbound_error_reports": ["reported_at"]}
    for table, names in timed.items():
        columns = {c["name"]: c["type"] for c in sa.inspect(erp).get_columns(table)}
        for name in names:
            assert isinstance(columns[name], sa.DateTime), f"{table}.{name} is {columns[name]!r}"
            if erp.dialect.name == "postgresql":
                assert columns[name].timezone, f"{table}.{name}: TIMESTAMP WITH TIME ZONE on PostgreSQL"
            if erp.dialect.name in ("mysql", "mariadb"):
                assert columns[name].fsp == 6, f"{table}.{name}: microseconds on MariaDB"


def test_claims_and_the_journal_keep_their_times_to_the_microsecond(erp):
    migrations.upgrade(erp)
    claims = Claims(erp, "run-1", lease_seconds=60, dag_id=DAG)
    before = datetime.now(timezone.utc)
    assert claims.claim("procuros", "ORDER", ["1", "2"]) == {"1", "2"}
    assert Claims(erp, "run-2", dag_id=DAG).claim("procuros", "ORDER", ["1", "3"]) == {"3"}, "a held claim is not taken"
    with erp.connect() as conn:
        leases = [r[0] for r in conn.execute(sa.select(state.claims.c.lease_until)
                                             .where(state.claims.c.run_id == "run-1"))]
    assert all(lease.tzinfo is not None and before + timedelta(seconds=59) < lease
               < datetime.now(timezone.utc) + timedelta(seconds=61) for lease in leases), leases

    expired = Claims(erp, "run-3", lease_seconds=-1, dag_id=DAG)
    assert expired.claim("procuros", "ORDER", ["9"]) == {"9"}
    assert Claims(erp, "run-4", dag_id=DAG).claim("procuros", "ORDER", ["9"]) == {"9"}, "an expired lease is taken over"

    journal = Journal(erp, "run-1", dag_id=DAG)
    journal.record([Verdict(vendor="procuros", doc_type="ORDER", document_id="1", identifier="PO-1",
                            outcome=Outcome.DELIVERED, status="TRANSMITTED")])
    [(entry_id, verdict)] = journal.unapplied("procuros")
    assert verdict.identifier == "PO-1"
    with erp.begin() as conn:
        assert journal.take([entry_id], conn) == {entry_id}
    assert journal.unapplied("procuros") == []


# -- an ERP from before migrations ----------------------------------------------------------------

def legacy_rows() -> dict[str, list[dict]]:
    return {
        "erp_outbound_claims": [dict(vendor="procuros", doc_type="ORDER", document_id="7", run_id="old-run",
                                     token="t-1", lease_until=EPOCH)],
        "erp_outbound_verdicts": [
            dict(run_id="old-run", vendor="procuros", doc_type="ORDER", document_id="7", identifier="PO-7",
                 outcome="DELIVERED", status="TRANSMITTED", message=None, attempts_before=0, recorded_at=EPOCH,
                 dry_run=False, applied_at=None, applied_by=None),
            dict(run_id="old-run", vendor="procuros", doc_type="ORDER", document_id="8", identifier="PO-8",
                 outcome="REJECTED", status=None, message="bad", attempts_before=1, recorded_at=EPOCH + 1, dry_run=False,
                 applied_at=EPOCH + 2, applied_by="a-1"),
        ],
        "erp_outbound_error_reports": [dict(vendor="procuros", doc_type="ORDER", document_id="8",
                                            signature="s" * 64, reported_at=EPOCH + 3)],
    }


def make_legacy_tables(engine: sa.Engine) -> dict[tuple[str, str], float]:
    """The tables as erp-outbound 0.1's create_all made them, with rows; the epoch values as the database keeps them."""
    LEGACY._metadata.create_all(engine)
    tables = {t.name: t for t in LEGACY.TABLES}
    with engine.begin() as conn:
        for name, rows in legacy_rows().items():
            conn.execute(sa.insert(tables[name]), rows)
    kept = {}
    with engine.connect() as conn:  # MariaDB's FLOAT (single precision) already rounded them
        for table, key, column in [("erp_outbound_claims", "document_id", "lease_until"),
                                   ("erp_outbound_verdicts", "identifier", "recorded_at"),
                                   ("erp_outbound_verdicts", "identifier", "applied_at"),
                                   ("erp_outbound_error_reports", "document_id", "reported_at")]:
            for row_key, value in conn.execute(sa.text(f"SELECT {key}, {column} FROM {table}")):
                kept[(f"{table}.{column}", str(row_key))] = value
    return kept


def test_an_erp_whose_tables_create_all_made_is_adopted_and_its_times_converted(erp):
    kept = make_legacy_tables(erp)
    with pytest.raises(migrations.ErpSchemaError, match="from before versioned migrations") as refused:
        migrations.check(erp, "erp_default")
    assert "erp-outbound db upgrade --conn-id erp_default" in str(refused.value)

    assert migrations.upgrade(erp) == (None, migrations.head())
    assert differences(erp) == []

    with erp.connect() as conn:
        found = {}
        for row in conn.execute(sa.select(state.claims)):
            found[("erp_outbound_claims.lease_until", row.document_id)] = row.lease_until
        for row in conn.execute(sa.select(state.verdicts)):
            found[("erp_outbound_verdicts.recorded_at", row.identifier)] = row.recorded_at
            found[("erp_outbound_verdicts.applied_at", row.identifier)] = row.applied_at
        for row in conn.execute(sa.select(state.error_reports)):
            found[("erp_outbound_error_reports.reported_at", row.document_id)] = row.reported_at
    assert found.keys() == kept.keys()
    for key, epoch in kept.items():
        if epoch is None:
            assert found[key] is None, key
        else:
            instant = datetime.fromtimestamp(epoch, timezone.utc)
            assert abs(found[key] - instant) < timedelta(milliseconds=1), (key, found[key], instant)

    # The adopted journal goes on: the unapplied verdict of the old run is still there to apply.
    [(_, verdict)] = Journal(erp, "new-run", dag_id=DAG).unapplied("procuros")
    assert (verdict.identifier, verdict.outcome) == ("PO-7", Outcome.DELIVERED)
    assert Claims(erp, "new-run", dag_id=DAG).claim("procuros", "ORDER", ["7"]) == {"7"}, "the 2026 lease ran out long ago"


def test_an_early_verdict_table_without_error_code_gets_the_column(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    LEGACY._metadata.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE erp_outbound_verdicts DROP COLUMN error_code")
    migrations.upgrade(engine)
    assert differences(engine) == []


def test_a_table_of_the_same_name_that_is_not_ours_is_refused_and_nothing_changes(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE erp_outbound_error_reports (id INTEGER PRIMARY KEY)")
    with pytest.raises(RuntimeError, match="erp_outbound_error_reports exists but lacks the columns"):
        migrations.upgrade(engine)
    assert bookkeeping_tables(engine) - {migrations.VERSION_TABLE} == {"erp_outbound_error_reports"}, \
        "no other table was created"
    with engine.connect() as conn:
        assert migrations.current(conn) is None


# -- what a task sees --------------------------------------------------------------------------

def test_check_names_an_old_and_an_unknown_revision(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    migrations.upgrade(engine, "0001")
    with pytest.raises(migrations.ErpSchemaError, match=f"at revision 0001; this erp-outbound needs "
                                                        f"{migrations.head()}"):
        migrations.check(engine, "erp_default")
    migrations.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {migrations.VERSION_TABLE} SET version_num = 'ffff'"))
    with pytest.raises(migrations.ErpSchemaError, match="revision ffff, which this erp-outbound does not know"):
        migrations.check(engine, "erp_default")


@pytest.mark.airflow
def test_a_run_on_an_unmigrated_erp_fails_with_the_command_and_creates_no_table(
        tmp_path, files, sandbox, monkeypatch, capfd):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 40, seed=3)
    engine = make_engine(url)
    drop_bookkeeping(engine)
    connect(monkeypatch, url, sandbox.base_url)
    capfd.readouterr()

    dag_run = load_dag("procuros_outgoing").test()

    out, err = capfd.readouterr()
    assert str(dag_run.state).endswith("failed")
    extract = next(ti for ti in dag_run.get_task_instances() if ti.task_id == "extract")
    assert str(extract.state).endswith("failed") and extract.try_number == 1, "no retries: they cannot help"
    assert "ErpSchemaError" in out + err
    assert "Run `erp-outbound db upgrade --conn-id erp_default` once" in out + err
    assert bookkeeping_tables(engine) == set(), "a task never creates a table"
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM purchase_orders WHERE status IS NOT NULL")).scalar() == 0
    assert sandbox.snapshot()["requests"].get("procuros.transactions", 0) == 0


def test_the_connection_test_says_what_is_missing(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DEFAULT", json.dumps({"conn_type": "erp", "host": url}))
    ok, message = ErpHook().test_connection()
    assert not ok
    assert message.startswith("Connected to the ERP database (sqlite), but: ")
    assert "erp-outbound db upgrade --conn-id erp_default" in message
    migrations.upgrade(make_engine(url))
    assert ErpHook().test_connection() == (True, "Connected to the ERP database (sqlite).")


# -- the command ---------------------------------------------------------------------------------

def test_erp_outbound_db_upgrade_with_a_url_and_with_a_connection(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    first = subprocess.run([str(CLI), "db", "upgrade", "--db", url], capture_output=True, text=True, check=True)
    assert f"went from revision (none) to {migrations.head()}" in first.stdout
    again = subprocess.run([str(CLI), "db", "upgrade", "--db", url], capture_output=True, text=True, check=True)
    assert f"at revision {migrations.head()}: nothing to do" in again.stdout
    migrations.check(make_engine(url))

    other = f"sqlite:///{tmp_path / 'b.db'}"
    env = os.environ | {"AIRFLOW_CONN_ERP_MIGRATE": json.dumps({"conn_type": "erp", "host": other})}
    by_connection = subprocess.run([str(CLI), "db", "upgrade", "--conn-id", "erp_migrate"], env=env,
                                   capture_output=True, text=True, check=True)
    assert "went from revision (none)" in by_connection.stdout
    migrations.check(make_engine(other))

    unknown = subprocess.run([str(CLI), "db", "upgrade", "--conn-id", "no_such_erp"], capture_output=True, text=True)
    assert unknown.returncode == 1 and "No Airflow connection 'no_such_erp'" in unknown.stderr


def test_the_password_of_the_erp_never_shows(tmp_path, monkeypatch):
    engine = make_engine(f"sqlite:///{tmp_path / 'erp.db'}")
    engine.url = engine.url.set(password="s3cret-erp-password", username="erp")
    with pytest.raises(migrations.ErpSchemaError) as refused:
        migrations.check(engine)
    assert "s3cret-erp-password" not in str(refused.value)


# -- revision 0003: claims and verdicts of a DAG's run -----------------------------------------------

def test_0003_on_an_erp_with_rows_gives_them_no_dag_and_they_go_on(erp):
    """Rows from before 0003 get dag_id NULL (DAG unknown): an unapplied verdict is still applied by the
    next run of any DAG of its vendor, a claim keeps its lease, the run index becomes (dag_id, run_id)."""
    migrations.upgrade(erp, "0002")
    lease = datetime.now(timezone.utc) + timedelta(minutes=10)
    with erp.begin() as conn:
        conn.execute(sa.text("INSERT INTO erp_outbound_claims (vendor, doc_type, document_id, run_id, token, "
                             "lease_until) VALUES ('rambase', 'INVOICE_FORWARDING', '5', 'old-run', 't-5', :lease)"),
                     {"lease": lease if erp.dialect.name == "postgresql" else lease.replace(tzinfo=None)})
        conn.execute(sa.text(
            "INSERT INTO erp_outbound_verdicts (run_id, vendor, doc_type, document_id, identifier, outcome, status, "
            "attempts_before, recorded_at, dry_run) VALUES ('crashed-run', 'rambase', 'PURCHASE_ORDER_UPDATE', '3', "
            "'100003', 'DELIVERED', 'SYNCED', 0, :at, :no)"),
            {"at": datetime(2026, 11, 1, 8, 0) if erp.dialect.name != "postgresql"
             else datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc), "no": False})

    assert migrations.upgrade(erp) == ("0002", migrations.head())
    assert differences(erp) == []
    with erp.connect() as conn:
        assert conn.execute(sa.select(state.claims.c.dag_id)).scalars().all() == [None]
        assert conn.execute(sa.select(state.verdicts.c.dag_id)).scalars().all() == [None]
    indexes = {i["name"]: i["column_names"] for i in sa.inspect(erp).get_indexes("erp_outbound_verdicts")}
    assert indexes["ix_erp_outbound_verdicts_dag_run"] == ["dag_id", "run_id"]
    assert "ix_erp_outbound_verdicts_run" not in indexes

    [(_, verdict)] = Journal(erp, "new-run", dag_id="rambase_invoice_forwarding").unapplied("rambase")
    assert (verdict.document_id, verdict.status) == ("3", "SYNCED"), "a verdict of unknown DAG is its vendor's"
    assert Claims(erp, "new-run", dag_id="rambase_invoice_forwarding").claim(
        "rambase", "INVOICE_FORWARDING", ["5"]) == set(), "the old claim still holds its lease"


# -- revision 0006: the open set, filled from the journal -------------------------------------------------

def test_0006_fills_the_open_set_from_a_journal_that_holds_rows(erp):
    """An ERP at 0004 with a journal: the revision fills the open set with each document whose latest verdict
    of a real run is not final, naming that verdict and the document's latest failure since it was last
    final; the page then reads it and shows what grouping the whole journal shows."""
    from erp_outbound_tools.bench.journal import baseline_open_documents

    migrations.upgrade(erp, "0004")
    at = datetime(2026, 11, 1, 8, 0, tzinfo=timezone.utc)
    rows = [  # (document, outcome, dry run, dag); ids follow this order
        ("1", "REJECTED", False, DAG), ("1", "DEFERRED", False, DAG),                 # open: DEFERRED, failed REJECTED
        ("2", "REJECTED", False, DAG), ("2", "DELIVERED", False, DAG),                # final: not open
        ("3", "DELIVERED", False, None), ("3", "DEFERRED", False, None),              # open, no failure since final
        ("4", "BUILD_ERROR", False, DAG), ("4", "DELIVERED", True, DAG),              # a dry run decides nothing
        ("5", "REJECTED", False, DAG), ("5", "DELIVERED", False, DAG), ("5", "UNCERTAIN", False, DAG),
        ("6", "SOMETHING_NEW", False, DAG),                                           # an outcome of a later version
        ("7", "NO_ACTION", False, DAG),
    ]
    with erp.begin() as conn:
        for n, (document_id, outcome, dry_run, dag_id) in enumerate(rows):
            conn.execute(sa.insert(state.verdicts).values(
                run_id=f"run-{n}", dag_id=dag_id, vendor="procuros", doc_type="ORDER", document_id=document_id,
                identifier=f"PO-{document_id}", outcome=outcome, message=f"entry {n}", attempts_before=0,
                recorded_at=at + timedelta(minutes=n), dry_run=dry_run))
        ids = {n: i for n, i in enumerate(conn.execute(
            sa.select(state.verdicts.c.id).order_by(state.verdicts.c.id)).scalars())}

    assert migrations.upgrade(erp) == ("0004", migrations.head())
    assert differences(erp) == []
    with erp.connect() as conn:
        filled = {r.document_id: (r.verdict_id, r.decided_id, r.outcome, r.dag_id)
                  for r in conn.execute(sa.select(state.open_documents))}
    assert filled == {
        "1": (ids[1], ids[0], "DEFERRED", DAG),
        "3": (ids[5], None, "DEFERRED", None),
        "4": (ids[6], ids[6], "BUILD_ERROR", DAG),
        "5": (ids[10], ids[10], "UNCERTAIN", DAG),
        "6": (ids[11], ids[11], "SOMETHING_NEW", DAG),
    }
    from erp_outbound.ui import attention

    shown = [(d.document_id, d.outcome, d.run_id) for d in attention.open_documents(erp)]
    assert shown == [(d.document_id, d.outcome, d.run_id) for d in baseline_open_documents(erp)]
    assert [s[0] for s in shown] == ["6", "5", "4", "3", "1"]  # the latest first
    # and the journal goes on keeping it: "1" delivered leaves the set, "2" failing again enters it
    Journal(erp, "next", dag_id=DAG).record([
        Verdict(vendor="procuros", doc_type="ORDER", document_id="1", identifier="PO-1", outcome=Outcome.DELIVERED),
        Verdict(vendor="procuros", doc_type="ORDER", document_id="2", identifier="PO-2", outcome=Outcome.REJECTED,
                message="refused")])
    assert [d.document_id for d in attention.open_documents(erp)] == ["2", "6", "5", "4", "3"]
