"""Run one DAG with dag.test() in its own process: ``python tests/run_dag.py DAG_ID '{"conf": 1}'``.

The crash and concurrency tests start this as a real separate process (and kill it).
Connections and folders come from the environment the test sets.
"""

from __future__ import annotations

import json
import sys

from erp_outbound.demo import load_dag

if __name__ == "__main__":
    dag_run = load_dag(sys.argv[1]).test(run_conf=json.loads(sys.argv[2]) if len(sys.argv) > 2 else {})
    print(f"RUN-STATE {dag_run.state}", flush=True)
