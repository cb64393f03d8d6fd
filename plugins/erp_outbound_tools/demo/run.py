"""``make demo``: a demo ERP, the sandbox, one run of each DAG, then the reports and the ERP status.

Runs the real DAGs with ``dag.test()`` in this process, against the sandbox on 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import runpy
from pathlib import Path

from erp_outbound_tools.sandbox.credentials import DEMO, DemoCredentials

DAGS_DIR = Path(__file__).resolve().parents[3] / "dags"
DEMO_TOKEN = DEMO.procuros_token


def connections_env(erp_url: str, sandbox_url: str, credentials: DemoCredentials = DEMO) -> dict[str, str]:
    """The demo connections, as AIRFLOW_CONN_* variables (the sandbox serves every vendor)."""
    return {
        "AIRFLOW_CONN_ERP_DEFAULT": json.dumps({"conn_type": "erp", "host": erp_url}),
        "AIRFLOW_CONN_PROCUROS_DEFAULT": json.dumps(
            {"conn_type": "procuros", "host": sandbox_url, "password": credentials.procuros_token,
             "extra": {"max_concurrency": 8}}),
        "AIRFLOW_CONN_RAMBASE_DEFAULT": json.dumps(
            {"conn_type": "rambase", "host": sandbox_url, "login": credentials.rambase_client_id,
             "password": credentials.rambase_client_secret,
             "extra": {"db": credentials.rambase_db, "max_concurrency": 8}}),
        "AIRFLOW_CONN_GEP_SMART_DEFAULT": json.dumps(
            {"conn_type": "gep_smart", "host": sandbox_url, "password": credentials.gep_auth_key,
             "extra": {"auth_url": f"{sandbox_url}/token/gep"}}),
    }


# Every DAG of the demo, with the trigger-form values it runs with.
DEMO_RUNS = [
    # Build errors are reported on their first failure here (the default waits for 3 runs).
    ("procuros_outgoing", {"report_after": 1}),
    ("procuros_tasks", {"per_page": 2}),
    ("rambase_purchase_orders", {}),
    ("rambase_invoice_forwarding", {}),
    ("gep_por_status", {"batch_size": 10}),
]


def load_dag(dag_id: str):
    return runpy.run_path(str(DAGS_DIR / f"{dag_id}.py"))["dag"]


def run_demo(workdir: str, documents: int, seed: int) -> int:
    from erp_outbound_tools.demo.erp import build_demo_erp
    from erp_outbound.erp.hook import make_engine
    from erp_outbound.erp.status import render_status
    from erp_outbound_tools.sandbox import SandboxConfig, SandboxServer
    from erp_outbound_tools.sandbox.procuros_tasks import demo_tasks

    folder = Path(workdir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    erp_url = f"sqlite:///{folder / 'erp.db'}"
    summary = build_demo_erp(erp_url, documents, seed)
    print(f"Demo ERP {erp_url}: {json.dumps(summary.get('documents', summary), default=str)}")
    os.environ.setdefault("ERP_OUTBOUND_REPORTS", str(folder / "reports"))
    config = SandboxConfig()
    config.procuros.tokens = [DEMO_TOKEN]
    config.procuros.tasks = demo_tasks()
    with SandboxServer(config) as sandbox:
        print(f"Sandbox on {sandbox.base_url}")
        os.environ.update(connections_env(erp_url, sandbox.base_url))
        results = {dag_id: load_dag(dag_id).test(run_conf=conf) for dag_id, conf in DEMO_RUNS}
        record = sandbox.snapshot()
    reports_dir = Path(os.environ["ERP_OUTBOUND_REPORTS"])
    for dag_id, dag_run in results.items():
        print("\n" + "=" * 100)
        print(f"{dag_id} run {dag_run.run_id}: {dag_run.state}")
        reports = sorted(reports_dir.glob(f"{dag_id}__*.json"), key=lambda p: p.stat().st_mtime)
        if reports:
            print(_render_saved(reports[-1]))
    print("\n" + "=" * 100)
    for vendor in ("procuros", "rambase", "gep"):
        print(f"\nThe ERP afterwards (erp-outbound status --vendor {vendor}):")
        print(render_status(make_engine(erp_url), vendor))
    procuros, rambase, gep = record.get("procuros", {}), record.get("rambase", {}), record.get("gep", {})
    print(f"\nThe sandbox received {len(procuros.get('transactions', []))} Procuros transactions, "
          f"{len(procuros.get('errors', []))} error reports, {len(procuros.get('tasks_marked', []))} task marks, "
          f"{len(rambase.get('order_puts', []))} RamBase order updates, "
          f"{sum(rambase.get('operation_posts', {}).values())} forwarding operations and "
          f"{len(gep.get('batch_sizes', []))} GEP acknowledgement batches.")
    return 0 if all(str(r.state).endswith("success") for r in results.values()) else 1


def _render_saved(path: Path) -> str:
    """The saved JSON report, shown as its tables again."""
    from tabulate import tabulate

    data = json.loads(path.read_text())
    if data.get("items"):
        return _render_items(path)
    outcomes = list(data["totals"].keys())[:-1]
    rows = [[t] + [c.get(o, 0) for o in outcomes] for t, c in data["by_type"].items()]
    rows.append(["TOTAL"] + [data["totals"][o] for o in outcomes])
    # The documents as the reconcile log shows them: every reason whole, wrapped, each link on a line of its own.
    from erp_outbound.core.report import document_blocks

    return "\n".join([
        f"Run report ({path}):",
        tabulate(rows, headers=["type"] + outcomes, tablefmt="simple"),
        "",
        *document_blocks(data["failures"][:25]),
        f"({len(data['failures'])} documents need attention; all of them in {path.with_suffix('.csv')})",
    ])


def _render_items(path: Path) -> str:
    from tabulate import tabulate

    data = json.loads(path.read_text())
    items = data.get("items", [])
    return "\n".join([
        f"Task report ({path}):",
        tabulate([list(i.values()) for i in items], headers=list(items[0].keys()) if items else [],
                 tablefmt="simple"),
    ])
