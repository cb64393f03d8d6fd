"""``make bench-distributed``: the same backlog with one and with two Celery workers.

Each round gets fresh PostgreSQL databases (Airflow's metadata, the bench ERP), an empty
Redis broker database, a local Airflow with the CeleryExecutor (``celery_airflow``) and the
sandbox at a fixed latency. Transform splits the backlog into load parts; the mapped load
tasks go to whichever worker is free. One run of ``procuros_outgoing`` is triggered through
the REST API and measured: its wall time, each task's duration and worker, and what the
sandbox received (every ORDER exactly once) and the ERP recorded.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import psutil
import requests
from sqlalchemy import text
from tabulate import tabulate

from erp_outbound_tools.bench.celery_airflow import CeleryAirflow
from erp_outbound_tools.bench.cpu import CpuMeter
from erp_outbound_tools.bench.databases import flush_redis, scratch_databases
from erp_outbound_tools.bench.workload import build_orders
from erp_outbound.erp.hook import make_engine
from erp_outbound.erp.status import status_frame
from erp_outbound_tools.local_airflow import LocalAirflowConfig
from erp_outbound_tools.local_airflow.bootstrap import import_connections
from erp_outbound_tools.local_airflow.config import airflow_environment, sandbox_environment
from erp_outbound_tools.local_airflow.launcher import free_port
from erp_outbound_tools.local_airflow.processes import (
    Child,
    running,
    start_child,
    stop_processes,
)
from erp_outbound_tools.local_airflow.readiness import wait_until

DAG_ID = "procuros_outgoing"
DELIVERED_STATUSES = {"TRANSMITTED", "DELIVERED"}
DEFAULT_BROKER = "redis://127.0.0.1:6379/5"


@dataclass
class RoundSetup:
    workers: int
    documents: int
    load_task_size: int
    workdir: Path
    broker_url: str = DEFAULT_BROKER
    latency_ms: float = 20.0
    max_concurrency: int = 16
    database_prefix: str = "erp_outbound_bench"
    run_timeout: float = 1800.0
    start_timeout: float = 300.0
    extra_env: dict[str, str] = field(default_factory=dict)  # more settings for every Airflow process

    @property
    def chunk_size(self) -> int:
        # Load parts are made of whole chunks: a chunk no larger than a part lets the backlog split.
        return min(5000, self.load_task_size)


@dataclass
class RoundResult:
    setup: RoundSetup
    run: dict
    wall_seconds: float  # our own clock: from the trigger request until the run was seen finished
    task_instances: list[dict]
    transactions: list[dict]  # what the sandbox received, one entry per POST /v2/transactions
    order_numbers: set[str]  # the backlog
    erp_statuses: dict[str, int]  # ORDER documents per ERP status after the run
    left_running: list[int] = field(default_factory=list)  # pids still running after the stop
    cpu: dict = field(default_factory=dict)  # CPU use during the run (``CpuMeter``)

    @property
    def load_tasks(self) -> list[dict]:
        return sorted((t for t in self.task_instances if t["task_id"] == "load"), key=lambda t: t["map_index"])

    def per_worker(self) -> dict[str, int]:
        return dict(sorted(Counter(t["hostname"] for t in self.load_tasks).items()))

    def sends_per_order(self) -> Counter:
        return Counter(str(t["identifier"]) for t in self.transactions)

    def duplicates(self) -> dict[str, int]:
        return {k: n for k, n in self.sends_per_order().items() if n > 1}

    def missing(self) -> set[str]:
        return self.order_numbers - set(self.sends_per_order())

    def run_seconds(self) -> float:
        """Wall time of the DAG run as Airflow recorded it (start to end date)."""
        return (_date(self.run["end_date"]) - _date(self.run["start_date"])).total_seconds()

    def load_span_seconds(self) -> float:
        """From the first load task's start to the last one's end: the part more workers share."""
        ran = [t for t in self.load_tasks if t["start_date"] and t["end_date"]]
        if not ran:
            return 0.0
        return (max(_date(t["end_date"]) for t in ran) - min(_date(t["start_date"]) for t in ran)).total_seconds()

    def summary(self) -> dict:
        seconds = self.run_seconds()
        return {
            "workers": self.setup.workers,
            "documents": self.setup.documents,
            "state": self.run["state"],
            "run_wall_s": round(seconds, 1),
            "own_clock_s": round(self.wall_seconds, 1),
            "load_span_s": round(self.load_span_seconds(), 1),
            "load_tasks": len(self.load_tasks),
            "load_tasks_per_worker": self.per_worker(),
            "docs_per_s": round(self.setup.documents / seconds, 1),
            "duplicates": len(self.duplicates()),
            "missing": len(self.missing()),
            "erp_statuses": self.erp_statuses,
            "task_seconds": {_task_name(t): round(t["duration"] or 0, 1) for t in self.task_instances},
            "cpu": self.cpu,
            "left_running": self.left_running,
        }

    def problems(self) -> list[str]:
        found = []
        if self.run["state"] != "success":
            found.append(f"the run ended {self.run['state']}")
        if self.duplicates():
            found.append(f"{len(self.duplicates())} documents were sent more than once")
        if self.missing():
            found.append(f"{len(self.missing())} documents were never sent")
        not_delivered = {s: n for s, n in self.erp_statuses.items() if s not in DELIVERED_STATUSES}
        if not_delivered:
            found.append(f"ERP statuses other than {sorted(DELIVERED_STATUSES)}: {not_delivered}")
        if self.left_running:
            found.append(f"processes still running after the stop: {self.left_running}")
        return found


def _date(value: str) -> datetime:
    return datetime.fromisoformat(value)


def _task_name(ti: dict) -> str:
    return ti["task_id"] if ti["map_index"] < 0 else f"{ti['task_id']}[{ti['map_index']}]"


def start_sandbox(config: LocalAirflowConfig, latency_ms: float) -> tuple[Child, str]:
    """The vendor sandbox at a fixed latency, accepting the config's Procuros token."""
    port = free_port()
    env = sandbox_environment(config) | {"ERP_OUTBOUND_SANDBOX_LATENCY_MS": str(latency_ms)}
    # No OpenAPI validation of what it receives: 5-6 ms of CPU per transaction, on the workers' cores.
    command = [sys.executable, "-m", "erp_outbound.cli", "sandbox", "--port", str(port), "--no-spec-validation"]
    child = start_child("sandbox-bench", command, env, config.layout.log("sandbox-bench"))
    url = f"http://127.0.0.1:{port}"

    def alive() -> None:
        if child.exited() is not None:
            raise RuntimeError(f"the sandbox exited with {child.exited()}; see {child.log}")

    wait_until(f"the sandbox on {url}", lambda: requests.get(f"{url}/_sandbox/health", timeout=2).ok, 30, alive,
               interval=0.2)
    return child, url


def bench_connections(erp_url: str, sandbox_url: str, config: LocalAirflowConfig, max_concurrency: int) -> dict:
    """The ERP and Procuros connections of the round, as ``airflow connections import`` reads them."""
    return {
        "erp_default": {"conn_type": "erp", "host": erp_url, "description": "bench-distributed: the bench ERP"},
        "procuros_default": {"conn_type": "procuros", "host": sandbox_url, "password": config.secrets.procuros_token,
                             "extra": json.dumps({"max_concurrency": max_concurrency}),
                             "description": "bench-distributed: the sandbox at a fixed latency"},
    }


def order_numbers(erp_url: str) -> set[str]:
    engine = make_engine(erp_url)
    try:
        with engine.connect() as conn:
            return {row[0] for row in conn.execute(text("SELECT order_number FROM purchase_orders"))}
    finally:
        engine.dispose()


def order_statuses(erp_url: str) -> dict[str, int]:
    engine = make_engine(erp_url)
    try:
        frame = status_frame(engine, "procuros")
    finally:
        engine.dispose()
    orders = frame[frame.doc_type == "ORDER"]
    return {str(s): int(n) for s, n in zip(orders.status, orders.documents)}


def airflow_processes(home: Path) -> list[int]:
    """Processes whose AIRFLOW_HOME is this round's: what must be gone after the stop (ps, by environment)."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.pid != os.getpid() and process.environ().get("AIRFLOW_HOME") == str(home) and running(process):
                found.append(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def run_round(setup: RoundSetup, say=print) -> RoundResult:
    """One measured run of procuros_outgoing on ``setup.workers`` Celery workers; stops and drops everything."""
    prefix = setup.database_prefix
    with scratch_databases(f"{prefix}_meta", f"{prefix}_erp") as (metadata_url, erp_url):
        flush_redis(setup.broker_url)
        say(f"[{setup.workers} worker(s)] building the ERP: {setup.documents} ORDERs")
        build_orders(erp_url, setup.documents)
        backlog = order_numbers(erp_url)
        config = LocalAirflowConfig(
            workdir=setup.workdir / f"workers-{setup.workers}", port=0, documents=10, schedules=False,
            sql_alchemy_conn=metadata_url, start_timeout=setup.start_timeout, stop_grace=20,
            extra_env={"ERP_OUTBOUND_LOAD_TASK_SIZE": str(setup.load_task_size),
                       "ERP_OUTBOUND_CHUNK_SIZE": str(setup.chunk_size)} | setup.extra_env)
        airflow = CeleryAirflow(config, setup.broker_url, setup.workers, say=say)
        sandbox, sandbox_url = start_sandbox(config, setup.latency_ms)
        processes: list = []
        try:
            airflow.start()
            env = airflow_environment(config, airflow.airflow.port)
            import_connections(bench_connections(erp_url, sandbox_url, config, setup.max_concurrency),
                               config.layout, env, config.layout.log("setup"))
            client = airflow.airflow.client()
            client.set_paused(DAG_ID, False)
            say(f"[{setup.workers} worker(s)] triggering {DAG_ID}")

            def process_groups() -> dict[str, list]:
                return {"sandbox": [psutil.Process(sandbox.pid)], "workers": airflow.workers.processes(),
                        "airflow": airflow.airflow.processes()}

            meter = CpuMeter.start(process_groups())
            started = time.perf_counter()
            run_id = client.trigger(DAG_ID, {"doc_types": ["ORDER"]})["dag_run_id"]
            run = client.wait_for_run(DAG_ID, run_id, timeout=setup.run_timeout, poll=0.5)
            wall = time.perf_counter() - started
            cpu = meter.read(wall, process_groups())
            path = f"/api/v2/dags/{DAG_ID}/dagRuns/{quote(run_id, safe='')}/taskInstances"
            task_instances = client.request("GET", path, params={"limit": 1000})["task_instances"]
            record = requests.get(f"{sandbox_url}/_sandbox/record", timeout=60).json()
            processes = airflow.processes()
        finally:
            airflow.stop()
            stop_processes([sandbox.identity], 10)
            sandbox.process.wait(timeout=10)
        statuses = order_statuses(erp_url)
    flush_redis(setup.broker_url)
    left = sorted({p.pid for p in processes if running(p)} | set(airflow_processes(config.layout.airflow_home)))
    return RoundResult(setup, run, wall, task_instances, record["procuros"]["transactions"], backlog, statuses, left,
                       cpu)


def table(summaries: list[dict]) -> str:
    rows = [[s["repetition"], s["workers"], s["documents"], s["state"], s["run_wall_s"], s["load_span_s"],
             s["load_tasks"], ", ".join(f"{w}: {n}" for w, n in s["load_tasks_per_worker"].items()), s["docs_per_s"],
             s["duplicates"], s["missing"], s["cpu"].get("machine_busy_pct"), s["cpu"].get("sandbox_cpu_s"),
             s["cpu"].get("workers_cpu_s")] for s in summaries]
    return tabulate(rows, headers=["#", "workers", "documents", "state", "run wall s", "load span s", "load tasks",
                                   "load tasks per worker", "docs/s", "duplicates", "missing", "machine busy %",
                                   "sandbox CPU s", "workers CPU s"], tablefmt="github")


def speedups(summaries: list[dict], key: str) -> list[float]:
    """Time with 1 worker over time with 2, for each repetition that measured both."""
    ratios = []
    for repetition in sorted({s["repetition"] for s in summaries}):
        by_workers = {s["workers"]: s[key] for s in summaries if s["repetition"] == repetition}
        if by_workers.get(1) and by_workers.get(2):
            ratios.append(round(by_workers[1] / by_workers[2], 2))
    return ratios


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="erp-outbound bench-distributed", description=__doc__)
    parser.add_argument("--documents", type=int, default=20000)
    parser.add_argument("--workers", default="1,2", help="comma-separated worker counts, one round each")
    parser.add_argument("--repeat", type=int, default=1,
                        help="repeat the rounds (1, 2, 1, 2, ...): the median speedup is steadier on a busy machine")
    parser.add_argument("--load-tasks", type=int, default=4, help="load parts the backlog is split into")
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=16, help="max_concurrency of the Procuros connection")
    parser.add_argument("--broker", default=DEFAULT_BROKER)
    parser.add_argument("--workdir", default=".bench/distributed")
    args = parser.parse_args(argv)
    workdir = Path(args.workdir).resolve()
    load_task_size = math.ceil(args.documents / args.load_tasks)
    summaries, problems = [], []
    for repetition in range(1, args.repeat + 1):
        for workers in [int(w) for w in args.workers.split(",") if w]:
            setup = RoundSetup(workers=workers, documents=args.documents, load_task_size=load_task_size,
                               workdir=workdir, broker_url=args.broker, latency_ms=args.latency_ms,
                               max_concurrency=args.concurrency)
            result = run_round(setup)
            summary = {"repetition": repetition} | result.summary()
            summaries.append(summary)
            problems += [f"{workers} worker(s), repetition {repetition}: {p}" for p in result.problems()]
            print(f"[{workers} worker(s)] run {summary['run_wall_s']} s; tasks (s): {summary['task_seconds']}; "
                  f"CPU: {summary['cpu']}", flush=True)
    print()
    print(f"procuros_outgoing on Celery workers (concurrency 1 each): {args.documents} ORDERs in load parts of "
          f"{load_task_size}, sandbox at {args.latency_ms:g} ms, max_concurrency {args.concurrency}, "
          f"{os.cpu_count()} cores")
    print(table(summaries))
    run_ratios, load_ratios = speedups(summaries, "run_wall_s"), speedups(summaries, "load_span_s")
    result = {"latency_ms": args.latency_ms, "concurrency": args.concurrency, "load_task_size": load_task_size,
              "cpus": os.cpu_count(), "rounds": summaries,
              "speedups_run": run_ratios, "speedups_load": load_ratios,
              "speedup_run": statistics.median(run_ratios) if run_ratios else None,
              "speedup_load": statistics.median(load_ratios) if load_ratios else None}
    if run_ratios:
        print(f"\nSpeedup of 2 workers over 1 (median of {len(run_ratios)}): {result['speedup_run']}x for the whole "
              f"run {run_ratios}, {result['speedup_load']}x for the load tasks {load_ratios}")
    print("\nBENCH_DISTRIBUTED " + json.dumps(result))
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
