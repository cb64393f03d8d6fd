"""Starting DAG runs in separate processes, each with an Airflow home of its own."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def airflow_home_copy(target: Path) -> Path:
    """A copy of the migrated test Airflow home, so parallel runs do not share one SQLite file."""
    source = Path(os.environ["AIRFLOW_HOME"])
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "airflow.db", target / "airflow.db")
    return target


def start_dag(dag_id: str, conf: dict, env: dict[str, str], home: Path, log: Path) -> subprocess.Popen:
    environment = os.environ | env | {"AIRFLOW_HOME": str(home),
                                      "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}"}
    return subprocess.Popen([sys.executable, str(TESTS / "run_dag.py"), dag_id, json.dumps(conf)],
                            env=environment, stdout=log.open("w"), stderr=subprocess.STDOUT)
