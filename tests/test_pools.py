"""Per-vendor pools: every task that talks to a vendor takes a slot of its vendor's pool.

The scheduler never starts a task whose pool does not exist, so ``make db`` (``make pools``)
creates them; ``dag.test()`` does not look at pools at all, so tests and ``make demo`` run
on a metadata database without them.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SANDBOX_TOKEN
from erp_outbound_tools.demo.run import connections_env, load_dag
from erp_outbound_tools.sandbox.credentials import DemoCredentials
from erp_outbound_tools.demo.erp import build_demo_erp
from erp_outbound.pools import POOLS, pool_for
from processes import start_dag

AIRFLOW = str(Path(sys.executable).with_name("airflow"))

# task id -> the vendor whose pool it takes (None: Airflow's default pool)
VENDOR_TASKS = {
    "procuros_outgoing": {"extract": None, "transform": None, "load": "procuros", "reconcile": "procuros"},
    "procuros_tasks": {"list_tasks": "procuros", "handle_tasks": None, "mark_processed": "procuros",
                       "report": None},
    "rambase_purchase_orders": {"extract": None, "transform": None, "load": "rambase", "reconcile": None},
    "rambase_invoice_forwarding": {"extract": None, "transform": None, "load": "rambase", "reconcile": None},
    "gep_por_status": {"extract": None, "transform": None, "load": "gep", "reconcile": None},
}


@pytest.mark.parametrize("dag_id", VENDOR_TASKS)
def test_every_task_that_talks_to_a_vendor_takes_its_vendors_pool(dag_id):
    pools = {task.task_id: task.pool for task in load_dag(dag_id).tasks}
    expected = {task_id: pool_for(vendor) if vendor else "default_pool"
                for task_id, vendor in VENDOR_TASKS[dag_id].items()}
    assert pools == expected


def test_a_pool_given_to_the_task_or_in_default_args_wins():
    from airflow.sdk import DAG

    from erp_outbound.gep.operators import GepAcknowledgeStatusOperator
    from erp_outbound.procuros.task_operators import ProcurosListTasksOperator

    with DAG("pools_override", schedule=None, default_args={"pool": "shared_vendor_pool"}):
        from_defaults = GepAcknowledgeStatusOperator(task_id="load", batches={})
    with DAG("pools_explicit", schedule=None):
        explicit = ProcurosListTasksOperator(task_id="list_tasks", pool="my_pool")
        default = ProcurosListTasksOperator(task_id="list_again")
    assert from_defaults.pool == "shared_vendor_pool"
    assert explicit.pool == "my_pool"
    assert default.pool == "erp_outbound_procuros"


def fresh_airflow_home(home: Path) -> dict[str, str]:
    """A newly migrated Airflow home of its own (no pools but default_pool)."""
    env = os.environ | {"AIRFLOW_HOME": str(home),
                        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"}
    home.mkdir(parents=True, exist_ok=True)
    subprocess.run([AIRFLOW, "db", "migrate"], env=env, check=True, capture_output=True)
    return env


def pools_in(home: Path) -> dict[str, tuple[int, str]]:
    with sqlite3.connect(home / "airflow.db") as db:
        return {name: (slots, description)
                for name, slots, description in db.execute("SELECT pool, slots, description FROM slot_pool")}


def test_the_pools_command_creates_every_vendor_pool(tmp_path):
    """What ``make pools`` runs: ``python -m erp_outbound.pools`` then ``airflow pools import``."""
    home = tmp_path / "home"
    env = fresh_airflow_home(home)
    assert set(pools_in(home)) == {"default_pool"}
    pools_file = tmp_path / "pools.json"
    pools_file.write_text(subprocess.run([sys.executable, "-m", "erp_outbound.pools"], env=env, check=True,
                                         capture_output=True, text=True).stdout)
    for _ in range(2):  # running it again (every `make db`) changes nothing
        subprocess.run([AIRFLOW, "pools", "import", str(pools_file)], env=env, check=True, capture_output=True)
    created = pools_in(home)
    assert {name: created[name] for name in created if name != "default_pool"} == {
        pool.name: (pool.slots, pool.description) for pool in POOLS.values()}
    makefile = (Path(__file__).resolve().parents[1] / "Makefile").read_text()
    assert "python -m erp_outbound.pools" in makefile and "airflow pools import" in makefile


@pytest.mark.airflow
def test_dag_test_runs_vendor_tasks_where_their_pool_does_not_exist(tmp_path, files, sandbox):
    """dag.test() ignores pools: make demo and the tests need none (a scheduler would wait forever)."""
    home = tmp_path / "home"
    fresh_airflow_home(home)
    erp_url = f"sqlite:///{tmp_path / 'erp.db'}"
    build_demo_erp(erp_url, 20, seed=3)
    env = connections_env(erp_url, sandbox.base_url, DemoCredentials(procuros_token=SANDBOX_TOKEN)) | {
        "ERP_OUTBOUND_STAGING": str(files / "staging"), "ERP_OUTBOUND_REPORTS": str(files / "reports")}
    log = tmp_path / "run.log"
    process = start_dag("procuros_outgoing", {"doc_types": ["ORDER"]}, env, home, log)
    assert process.wait(timeout=300) == 0, log.read_text()[-3000:]
    states = [line for line in log.read_text().splitlines() if line.startswith("RUN-STATE")]
    assert states and states[-1].lower().endswith("success"), states
    assert set(pools_in(home)) == {"default_pool"}
    assert sandbox.snapshot()["procuros"]["transactions"], "the load task sent nothing"
    reports = [json.loads(p.read_text()) for p in (files / "reports").glob("procuros_outgoing__*.json")]
    assert reports, "reconcile (also in the Procuros pool) wrote no report"
