"""Before the Airflow processes start: the demo ERP, the metadata DB, the connections and the pools.

Connections and pools go into the metadata DB with Airflow's own CLI, so the UI lists them
and "Test connection" finds the stored secrets.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from erp_outbound_tools.demo.run import connections_env
from erp_outbound_tools.local_airflow.config import DemoSecrets
from erp_outbound_tools.local_airflow.layout import Layout
from erp_outbound import pools

AIRFLOW = str(Path(sys.executable).with_name("airflow"))


class LocalAirflowError(RuntimeError):
    """The local Airflow could not start; the message says where to look."""


def build_erp(layout: Layout, documents: int, seed: int) -> tuple[str, dict]:
    """A fresh demo ERP in the work folder (each start begins with the same pending documents)."""
    from erp_outbound_tools.demo.erp import build_demo_erp

    url = f"sqlite:///{layout.erp_db}"
    return url, build_demo_erp(url, documents, seed)


def run_airflow_cli(args: list[str], env: dict[str, str], log: Path, timeout: float = 300) -> None:
    with log.open("ab") as output:
        output.write(f"\n$ airflow {' '.join(args)}\n".encode())
        output.flush()
        result = subprocess.run([AIRFLOW, *args], check=False, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                stderr=subprocess.STDOUT, timeout=timeout)
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-20:])
        raise LocalAirflowError(f"`airflow {args[0]} {args[1]}` failed (exit {result.returncode}); "
                                f"its output is in {log}:\n{tail}")


def migrate(env: dict[str, str], log: Path) -> None:
    run_airflow_cli(["db", "migrate"], env, log)


def demo_connections(erp_url: str, sandbox_url: str, secrets: DemoSecrets) -> dict[str, dict]:
    """The demo's connections (``erp_outbound_tools.demo.run.connections_env``), as ``airflow connections import`` reads them."""
    connections = {}
    for variable, value in connections_env(erp_url, sandbox_url, secrets).items():
        conn_id = variable.removeprefix("AIRFLOW_CONN_").lower()
        connection = json.loads(value)
        if isinstance(connection.get("extra"), dict):
            connection["extra"] = json.dumps(connection["extra"])
        connection["description"] = "erp-outbound demo (make airflow): the local sandbox / demo ERP"
        # No port, as a connection made in the UI's form: the Test button works through the plugin's fix.
        connections[conn_id] = connection
    return connections


def import_connections(connections: dict[str, dict], layout: Layout, env: dict[str, str], log: Path) -> None:
    # The file holds secrets: readable by us only, and gone right after the import.
    path = layout.workdir / "connections.import.json"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump(connections, file)
        run_airflow_cli(["connections", "import", "--overwrite", str(path)], env, log)
    finally:
        path.unlink(missing_ok=True)


def import_pools(layout: Layout, env: dict[str, str], log: Path) -> None:
    path = layout.workdir / "pools.import.json"
    path.write_text(json.dumps(pools.import_file()))
    try:
        run_airflow_cli(["pools", "import", str(path)], env, log)
    finally:
        path.unlink(missing_ok=True)
