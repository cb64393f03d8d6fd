"""Run one DAG with dag.test() in its own process: ``python tests/run_dag.py DAG_ID '{"conf": 1}'``.

The crash and concurrency tests start this as a real separate process (and kill it).
Connections and folders come from the environment the test sets.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from erp_outbound_tools.demo.run import load_dag


def wait_at_barrier(barrier: str) -> None:
    """Say we are ready, then start only when the test says go: runs start together."""
    Path(f"{barrier}.{os.getpid()}.ready").touch()
    while not Path(f"{barrier}.go").exists():
        time.sleep(0.01)


if __name__ == "__main__":
    dag = load_dag(sys.argv[1])
    if os.environ.get("ERP_OUTBOUND_TEST_BARRIER"):
        wait_at_barrier(os.environ["ERP_OUTBOUND_TEST_BARRIER"])
    dag_run = dag.test(run_conf=json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
    print(f"RUN-STATE {dag_run.state}", flush=True)
