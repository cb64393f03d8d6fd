"""``make bench LEGS=parse``: how long parsing each DAG file takes, beside ``import airflow.sdk`` alone.

Airflow parses every DAG file again every 30 seconds, each in a fresh process. Per file, a fresh
interpreter is started ``--runs`` times for each of: ``import airflow.sdk`` alone, and ``import
airflow.sdk`` then the DAG file. Printed: the median wall time of each process (start to exit), and
the median time the DAG file itself took once ``airflow.sdk`` was imported: what our DAG files cost
beyond Airflow's own, measured inside the process, so it does not carry the noise of two process
starts on a busy machine. Target: at most 0.3 s more than ``import airflow.sdk``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from tabulate import tabulate

TARGET_EXTRA_SECONDS = 0.3
# Prints the seconds the DAG file took once airflow.sdk was imported (0 when no file is given).
PARSE = """
import runpy, sys, time
import airflow.sdk
started = time.perf_counter()
if len(sys.argv) > 1:
    runpy.run_path(sys.argv[1], run_name="dag_file")
print("PARSE-SECONDS", time.perf_counter() - started)
"""


def dags_folder() -> Path:
    configured = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
    return Path(configured) if configured else Path(__file__).resolve().parents[3] / "dags"


def one_process(dag_file: Path | None) -> tuple[float, float]:
    """(wall seconds of the whole process, seconds of the DAG file after airflow.sdk)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", PARSE, *([str(dag_file)] if dag_file else [])],
                          capture_output=True, text=True, check=True)
    wall = time.perf_counter() - started
    line = next(line for line in done.stdout.splitlines() if line.startswith("PARSE-SECONDS "))
    return wall, float(line.split()[1])


def measure(runs: int, folder: Path) -> dict:
    files = sorted(folder.glob("*.py"))
    targets: list[tuple[str, Path | None]] = [("import airflow.sdk alone", None)] + [(f.name, f) for f in files]
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name, _ in targets}
    for _ in range(runs):  # round-robin, so a burst of load from elsewhere spreads over every target
        for name, path in targets:
            samples[name].append(one_process(path))
    result = {name: {"process_s": round(statistics.median(w for w, _ in got), 3),
                     "dag_file_s": round(statistics.median(p for _, p in got), 3)} for name, got in samples.items()}
    return {"runs": runs, "target_extra_s": TARGET_EXTRA_SECONDS, "files": result}


def report(parse: dict) -> None:
    rows = [[name, row["process_s"], row["dag_file_s"],
             "" if name.startswith("import") else ("yes" if row["dag_file_s"] <= parse["target_extra_s"] else "NO")]
            for name, row in parse["files"].items()]
    print(f"\nDAG file parsing: a fresh interpreter per run, median of {parse['runs']} runs")
    print(tabulate(rows, headers=["", "whole process s", "DAG file s beyond import airflow.sdk",
                                  f"within +{parse['target_extra_s']} s"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m erp_outbound_tools.bench.parse", description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    parse = measure(args.runs, dags_folder())
    report(parse)
    print("\nBENCH " + json.dumps({"parse": parse}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
