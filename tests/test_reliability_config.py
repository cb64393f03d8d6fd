"""Reliability: a wrong connection fails at once, names the connection, and changes nothing.

Each case points one vendor connection somewhere wrong (a refused token or secret, a
base URL or token URL with a wrong path, a RamBase company database that does not
exist) and runs the DAG once with dag.test(). The promise (docs/integrators/procuros.md: "401 / 403 / 404:
the task fails at once, naming the connection and what to fix; no document changes";
Guarantees: "a vendor or network failure never counts an attempt"):

- the DAG run fails, and its load task failed on its first try (no retries burned),
- the sandbox saw only a handful of requests (no document was sent),
- the ERP's document rows are exactly as before, and no verdict was recorded,
- the error in the task output names the connection id.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import pytest
from sqlalchemy import create_engine, inspect

from conftest import connect, connect_gep, connect_rambase
from erp_outbound_tools.demo.run import load_dag
from erp_outbound_tools.demo.erp import build_demo_erp

pytestmark = pytest.mark.airflow

PROCUROS_TABLES = ["purchase_orders", "order_responses", "shipping_notices", "invoices", "credit_notes"]


@dataclass
class Case:
    """One wrong configuration: which DAG, what to set, which connection must be named."""

    dag_id: str
    connection: str
    tables: list[str]
    configure: Callable  # (monkeypatch, erp_url, sandbox) -> None, run after the good connections are set
    conf: dict | None = None


def wrong_procuros_token(monkeypatch, erp_url, sandbox):
    connect(monkeypatch, erp_url, sandbox.base_url, token="not-the-token")


def wrong_procuros_path(monkeypatch, erp_url, sandbox):
    connect(monkeypatch, erp_url, f"{sandbox.base_url}/nope")


def wrong_rambase_secret(monkeypatch, erp_url, sandbox):
    connect_rambase(monkeypatch, sandbox.base_url, secret="not-the-secret")


def wrong_rambase_db(monkeypatch, erp_url, sandbox):
    connect_rambase(monkeypatch, sandbox.base_url, db="NO_SUCH_COMPANY")


def wrong_gep_auth_key(monkeypatch, erp_url, sandbox):
    connect_gep(monkeypatch, sandbox.base_url, auth_key="not-the-key")


def wrong_gep_token_url(monkeypatch, erp_url, sandbox):
    connect_gep(monkeypatch, sandbox.base_url, auth_url=f"{sandbox.base_url}/token/nope")


CASES = {
    "procuros wrong token (401)": Case("procuros_outgoing", "procuros_default", PROCUROS_TABLES,
                                       wrong_procuros_token, {"limit": 16}),
    "procuros wrong base URL path (404)": Case("procuros_outgoing", "procuros_default", PROCUROS_TABLES,
                                               wrong_procuros_path, {"limit": 16}),
    "rambase wrong client secret (401)": Case("rambase_purchase_orders", "rambase_default",
                                              ["rambase_po_updates"], wrong_rambase_secret),
    "gep wrong auth key (401)": Case("gep_por_status", "gep_smart_default", ["gep_por_statuses"],
                                     wrong_gep_auth_key),
    "gep wrong token URL path (404)": Case("gep_por_status", "gep_smart_default", ["gep_por_statuses"],
                                           wrong_gep_token_url),
}

RAMBASE_WRONG_DB = Case("rambase_purchase_orders", "rambase_default", ["rambase_po_updates"], wrong_rambase_db)


# -- helpers -----------------------------------------------------------------------------

def erp_frames(url: str, tables: list[str]) -> dict[str, pd.DataFrame]:
    """The full content of the given ERP tables, ordered by id."""
    engine = create_engine(url)
    with engine.connect() as conn:
        frames = {t: pd.read_sql(f"SELECT * FROM {t} ORDER BY id", conn) for t in tables}
    engine.dispose()
    return frames


def recorded_verdicts(url: str) -> int:
    engine = create_engine(url)
    with engine.connect() as conn:
        if "erp_outbound_verdicts" not in inspect(conn).get_table_names():
            return 0
        count = pd.read_sql("SELECT COUNT(*) AS n FROM erp_outbound_verdicts", conn)["n"].iloc[0]
    engine.dispose()
    return int(count)


def task_instances(dag_run) -> dict:
    return {ti.task_id: ti for ti in dag_run.get_task_instances()}


def config_errors(output: str) -> list[str]:
    """The ConnectionConfigError messages in the task output."""
    return re.findall(r"ConnectionConfigError: (.+)", output)


def run_with_wrong_configuration(case: Case, tmp_path, sandbox_with, monkeypatch, capfd):
    """Build a demo ERP, set good connections, break one, run the DAG; what happened."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(url, 400, seed=41)
    sandbox = sandbox_with()
    connect(monkeypatch, url, sandbox.base_url)
    connect_rambase(monkeypatch, sandbox.base_url)
    connect_gep(monkeypatch, sandbox.base_url)
    case.configure(monkeypatch, url, sandbox)
    before = erp_frames(url, case.tables)
    capfd.readouterr()

    dag_run = load_dag(case.dag_id).test(run_conf=case.conf or {})

    out, err = capfd.readouterr()
    return {"url": url, "sandbox": sandbox, "before": before, "dag_run": dag_run, "output": out + err}


def assert_failed_at_once_naming_the_connection(case: Case, result: dict) -> None:
    dag_run, sandbox, output = result["dag_run"], result["sandbox"], result["output"]
    assert str(dag_run.state).endswith("failed"), "a wrong connection must fail the run"
    tis = task_instances(dag_run)
    assert str(tis["load"].state).endswith("failed")
    assert tis["load"].try_number == 1, "no retries burned on a configuration error"
    assert str(tis["extract"].state).endswith("success") and str(tis["transform"].state).endswith("success")

    requests = sandbox.snapshot()["requests"]
    assert sum(requests.values()) <= 3, f"only a handful of requests, got {requests}"
    assert not any(name in requests for name in
                   ("procuros.transactions", "procuros.errors", "rambase.orders", "gep.status")), \
        f"no document may be sent: {requests}"

    after = erp_frames(result["url"], case.tables)
    for table, frame in result["before"].items():
        pd.testing.assert_frame_equal(after[table], frame, obj=f"ERP table {table}")
    assert recorded_verdicts(result["url"]) == 0, "no verdict (build errors included) may be recorded"

    errors = config_errors(output)
    assert errors, "the load task must fail with a ConnectionConfigError"
    assert all(f"'{case.connection}'" in e for e in errors), f"the error must name {case.connection}: {errors}"


# -- the promises ------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(CASES))
def test_a_wrong_connection_fails_at_once_names_it_and_changes_nothing(
        name, tmp_path, files, sandbox_with, monkeypatch, capfd):
    """Wrong token / secret / key / URL path: failed run, first try, nothing sent or changed, connection named."""
    case = CASES[name]
    result = run_with_wrong_configuration(case, tmp_path, sandbox_with, monkeypatch, capfd)
    assert_failed_at_once_naming_the_connection(case, result)


def test_the_errors_say_what_to_fix(tmp_path, files, sandbox_with, monkeypatch, capfd):
    """The messages point at the field to fix: the token for a 401, the Host for a 404."""
    refused = run_with_wrong_configuration(CASES["procuros wrong token (401)"], tmp_path / "a", sandbox_with,
                                           monkeypatch, capfd)
    message = config_errors(refused["output"])[0]
    assert "HTTP 401" in message and "API token" in message

    missing = run_with_wrong_configuration(CASES["procuros wrong base URL path (404)"], tmp_path / "b",
                                           sandbox_with, monkeypatch, capfd)
    message = config_errors(missing["output"])[0]
    assert "HTTP 404" in message and "Host" in message


def test_a_wrong_rambase_database_fails_at_once_names_the_connection_and_changes_nothing(
        tmp_path, files, sandbox_with, monkeypatch, capfd):
    """A $db the RamBase tenant does not have is a connection error, never the documents' fault.

    The DAGs make only the documented calls (no read before the documents), so the first PUTs
    meet it: the run fails on their answers, naming $db and the connection, and no document is
    marked for it. The rows that cannot be built count their attempt as in any run.
    """
    result = run_with_wrong_configuration(RAMBASE_WRONG_DB, tmp_path, sandbox_with, monkeypatch, capfd)
    dag_run, sandbox, output = result["dag_run"], result["sandbox"], result["output"]
    assert str(dag_run.state).endswith("failed")
    tis = task_instances(dag_run)
    assert str(tis["load"].state).endswith("failed") and tis["load"].try_number == 1
    record = sandbox.snapshot()
    puts = record["rambase"]["order_puts"]
    assert 0 < len(puts) <= 16 and {p["status_code"] for p in puts} == {400}, "stopped on the first answers"
    assert record["rambase"]["orders"] == {}
    before, after = result["before"]["rambase_po_updates"], erp_frames(result["url"], ["rambase_po_updates"])[
        "rambase_po_updates"]
    changed = after[after.attempts != before.attempts]
    assert changed.rambase_error.fillna("").str.startswith("cannot build").all()
    assert after.rambase_error_id.isna().all() and after.rambase_status.equals(before.rambase_status)
    errors = config_errors(output)
    assert errors and all("'rambase_default'" in e and "$db" in e for e in errors), errors
