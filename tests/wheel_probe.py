"""Run with the python of a virtualenv where the erp-outbound wheel is installed (tests/test_wheel_install.py).

``python wheel_probe.py WORKDIR`` migrates a new ERP in WORKDIR with the installed ``erp-outbound db
upgrade``, fills it with the demo ERP, reads where the SQL and the guide come from (with and without
ERP_OUTBOUND_SQL_DIR), parses Airflow's dags folder, runs procuros_outgoing with dag.test() against
the tools' sandbox and prints one line ``WHEEL {json}``. Airflow's metadata DB is migrated and the
pools imported before (by the test, with the installed ``airflow`` command).
"""

from __future__ import annotations

import json
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

TOKEN = "wheel-test-token"


def main(workdir: Path) -> dict:
    import erp_outbound
    from erp_outbound.erp.sql import sql_root, statement
    from erp_outbound.ui.guide import guide_html, guide_root
    from erp_outbound_tools.demo.erp import build_demo_erp
    from erp_outbound_tools.sandbox import SandboxConfig, SandboxServer

    found: dict = {"package": erp_outbound.__file__, "sql_root": str(sql_root()), "guide_root": str(guide_root()),
                   "guide_has_install_section": 'id="the-bookkeeping-tables-erp-outbound-db-upgrade"' in guide_html("platform/install"),
                   "guide_pages": sorted(str(p.relative_to(guide_root())) for p in guide_root().rglob("*.md"))}
    own_sql = workdir / "my_sql"
    shutil.copytree(sql_root(), own_sql)
    (own_sql / "procuros" / "order" / "status.sql").write_text("SELECT 'mine' AS said\n", encoding="utf-8")
    os.environ["ERP_OUTBOUND_SQL_DIR"] = str(own_sql)
    found["sql_root_when_set"] = str(sql_root())
    found["statement_when_set"] = str(statement("procuros", "ORDER", "status"))
    del os.environ["ERP_OUTBOUND_SQL_DIR"]

    erp_url = f"sqlite:///{workdir / 'erp.db'}"
    upgrade = subprocess.run([str(Path(sys.executable).with_name("erp-outbound")), "db", "upgrade", "--db", erp_url],
                             capture_output=True, text=True)  # a new ERP: its first migration
    found["db_upgrade"] = [upgrade.returncode, upgrade.stdout + upgrade.stderr]
    build_demo_erp(erp_url, 40, seed=5)

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag(dag_folder=os.environ["AIRFLOW__CORE__DAGS_FOLDER"], safe_mode=True)
    found["dag_ids"] = sorted(bag.dag_ids)
    found["import_errors"] = {str(k): v for k, v in bag.import_errors.items()}

    config = SandboxConfig()
    config.procuros.tokens = [TOKEN]
    with SandboxServer(config) as sandbox:
        os.environ["AIRFLOW_CONN_ERP_DEFAULT"] = json.dumps({"conn_type": "erp", "host": erp_url})
        os.environ["AIRFLOW_CONN_PROCUROS_DEFAULT"] = json.dumps(
            {"conn_type": "procuros", "host": sandbox.base_url, "password": TOKEN,
             "extra": {"max_tries": 3, "backoff_initial": 0.01, "max_retry_wait": 2}})
        dag_file = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"]) / "procuros_outgoing.py"
        dag = runpy.run_path(str(dag_file))["dag"]
        run = dag.test(run_conf={"doc_types": ["ORDER", "INVOICE"]})
        found["run_state"] = str(run.state)
        found["received"] = len(sandbox.record.snapshot()["procuros"]["transactions"])

    from sqlalchemy import create_engine, text

    with create_engine(erp_url).connect() as conn:
        found["orders_transmitted"] = conn.execute(
            text("SELECT COUNT(*) FROM purchase_orders WHERE status = 'TRANSMITTED'")).scalar_one()
    return found


if __name__ == "__main__":
    print("WHEEL " + json.dumps(main(Path(sys.argv[1]))), flush=True)
