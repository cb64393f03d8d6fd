"""Run in a fresh interpreter: what parsing one DAG file imports beyond ``import airflow.sdk``.

``python dag_parse_probe.py <dag file>`` prints one line ``DAG-PARSE {json}``: the top-level packages
the DAG file brought, the dag ids it defines, and the seconds ``import airflow.sdk`` and the DAG file took.
``python dag_parse_probe.py`` (no file) measures ``import airflow.sdk`` alone.
"""

from __future__ import annotations

import json
import runpy
import sys
import time

started = time.perf_counter()
import airflow.sdk  # noqa: E402  (timed: the baseline every DAG file pays)

sdk_seconds = time.perf_counter() - started
before = set(sys.modules)
dag_ids: list[str] = []
parse_seconds = 0.0
if len(sys.argv) > 1:
    started = time.perf_counter()
    namespace = runpy.run_path(sys.argv[1], run_name="dag_file")
    parse_seconds = time.perf_counter() - started
    dag_ids = sorted(value.dag_id for value in namespace.values() if isinstance(value, airflow.sdk.DAG))
brought = sorted({name.split(".")[0] for name in set(sys.modules) - before})
print("DAG-PARSE " + json.dumps({"brought": brought, "dag_ids": dag_ids, "sdk_seconds": sdk_seconds,
                                 "parse_seconds": parse_seconds}))
