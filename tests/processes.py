"""Starting DAG runs in separate processes, each with an Airflow home of its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def airflow_home_copy(target: Path) -> Path:
    """A copy of the migrated test Airflow home, so parallel runs do not share one SQLite file."""
    source = Path(os.environ["AIRFLOW_HOME"])
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "airflow.db", target / "airflow.db")
    return target


def start_dag(dag_id: str, conf: dict, env: dict[str, str], home: Path, log: Path,
              run_after: datetime | None = None) -> subprocess.Popen:
    """``run_after`` fixes the run id (runs started at once in different homes could share one)."""
    environment = os.environ | env | {"AIRFLOW_HOME": str(home),
                                      "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"}
    args = [sys.executable, str(TESTS / "run_dag.py"), dag_id, json.dumps(conf)]
    if run_after is not None:
        args.append(run_after.isoformat())
    return subprocess.Popen(args, env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT)


def wait_all(processes: list[subprocess.Popen], timeout: float) -> list[int | None]:
    """Wait for every process; once one fails (or time is up), stop the others instead of waiting on them.

    Returns the exit codes (None: still running at the timeout, then killed).
    """
    deadline = time.monotonic() + timeout
    while any(p.poll() is None for p in processes):
        if time.monotonic() > deadline or any(p.poll() not in (None, 0) for p in processes):
            break
        time.sleep(0.1)
    codes = [p.poll() for p in processes]
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
    return codes
