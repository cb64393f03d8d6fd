"""``make bench``: the Procuros pipeline's throughput, latency and memory at several backlog sizes,
and the engine legs (engine.py): every vendor endpoint beside a bare aiohttp client, clean and
under pressure.

Each step runs in its own process against the sandbox (a separate process with a fixed
latency), so its time and peak RSS are its own. The same workload is also sent the naive
way (one request at a time, a new connection each), and transformed alone.

``--legs`` picks what runs: ``parse`` (each DAG file's parse time beside ``import airflow.sdk``,
parse.py), ``sizes`` (the figures above), ``engine`` (every engine leg), ``contract`` (the contract
check beside an earlier commit's transform, bench/contract.py) or engine legs by name (``procuros``,
``rambase:rate_limit``, ...); default parse, sizes and engine.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from tabulate import tabulate

from erp_outbound_tools.bench.workload import build_orders

STEPS = ("extract", "transform", "load", "reconcile")
TOKEN = "bench-token"
NAIVE_SAMPLE = 500


def _env(workdir: Path, erp_url: str, sandbox_url: str, concurrency: int) -> dict[str, str]:
    return os.environ | {
        "AIRFLOW_CONN_ERP_DEFAULT": json.dumps({"conn_type": "erp", "host": erp_url}),
        "AIRFLOW_CONN_PROCUROS_DEFAULT": json.dumps({"conn_type": "procuros", "host": sandbox_url, "password": TOKEN,
                                                     "extra": {"max_concurrency": concurrency}}),
        "ERP_OUTBOUND_STAGING": str(workdir / "staging"),
        "ERP_OUTBOUND_REPORTS": str(workdir / "reports"),
        # One load task at the connection's concurrency, as the figures promise (no parallel parts).
        "ERP_OUTBOUND_LOAD_TASK_SIZE": str(10**9),
    }


def start_sandbox(port: int, latency_ms: float, log: Path) -> subprocess.Popen:
    env = os.environ | {"ERP_OUTBOUND_SANDBOX_PROCUROS_TOKENS": TOKEN}
    # No OpenAPI validation of what the sandbox receives: 5-6 ms of CPU per transaction on the cores the
    # measured steps use (the tests validate every payload type against the spec instead).
    process = subprocess.Popen([sys.executable, "-m", "erp_outbound.cli", "sandbox", "--port", str(port),
                                "--latency-ms", str(latency_ms), "--no-spec-validation"], env=env, stdout=log.open("w"),
                               stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            if requests.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1).ok:
                return process
        except requests.ConnectionError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the sandbox did not start; see {log}")


def run_step(step: str, inputs: dict, workdir: Path, env: dict) -> tuple[dict, float, float]:
    """(XComs, seconds inside execute, peak RSS in MB) of one step in its own process."""
    source, target = workdir / f"{step}.in.json", workdir / f"{step}.out.json"
    source.write_text(json.dumps(inputs))
    with (workdir / f"{step}.log").open("w") as log:
        command = [sys.executable, "-m", "erp_outbound_tools.bench.step", step, str(source), str(target)]
        if step in os.environ.get("ERP_OUTBOUND_BENCH_PROFILE", "").split(","):
            # py-spy (not a dependency: pip install it) samples every thread; folded stacks beside the step's log
            command = [str(Path(sys.executable).with_name("py-spy")), "record", "--threads", "--rate", "250",
                       "--format", "raw", "--output", str(workdir / f"{step}.profile.txt"), "--", *command]
        child = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(child.pid, 0)
    if status != 0:
        raise SystemExit(f"step {step} failed; see {workdir / f'{step}.log'}")
    out = json.loads(target.read_text())
    return out, out["seconds"], usage.ru_maxrss / 1024


def pipeline(size: int, workdir: Path, env: dict, erp_url: str, sandbox_url: str) -> dict:
    build_orders(erp_url, size)
    requests.post(f"{sandbox_url}/_sandbox/reset", timeout=10)
    inputs: dict = {"run_id": f"bench-{size}-{int(time.time())}"}
    result = {"documents": size, "steps": {}}
    for step in STEPS:
        out, seconds, rss = run_step(step, inputs, workdir, env)
        inputs[step] = out["xcom"]
        if step == "transform":
            inputs["transform_summary"] = out["pushed"]["summary"]
        result["steps"][step] = {"seconds": round(seconds, 2), "peak_rss_mb": round(rss, 1)}
    seconds = sum(s["seconds"] for s in result["steps"].values())
    delivered = inputs["reconcile"]["totals"]["DELIVERED"]
    if delivered != size:
        raise SystemExit(f"only {delivered} of {size} documents were delivered; see {workdir}")
    load = inputs["load"][0]  # one load task: the whole backlog at the connection's concurrency
    result |= {"seconds": round(seconds, 2), "docs_per_second": round(size / seconds, 1),
               "latency_p50_ms": load.get("latency_p50_ms"), "latency_p95_ms": load.get("latency_p95_ms")}
    return result


def dag_test_wall(size: int, env: dict, erp_url: str, sandbox_url: str) -> float:
    """Wall time of a whole dag.test() run of procuros_outgoing on the same backlog."""
    build_orders(erp_url, size)
    requests.post(f"{sandbox_url}/_sandbox/reset", timeout=10)
    code = "from erp_outbound_tools.demo.run import load_dag; r = load_dag('procuros_outgoing').test(); print(r.state)"
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if "success" not in done.stdout:
        raise SystemExit("dag.test() did not succeed:\n" + done.stdout[-2000:] + done.stderr[-2000:])
    return round(wall, 2)


def naive(erp_url: str, sandbox_url: str, sample: int) -> dict:
    """One request at a time, a new connection per request: the baseline."""
    from erp_outbound.core.flows import flow
    from erp_outbound.steps.pending import pending_chunks
    from erp_outbound.erp.hook import make_engine

    build_orders(erp_url, sample)
    requests.post(f"{sandbox_url}/_sandbox/reset", timeout=10)
    engine = make_engine(erp_url)
    bodies = [b for chunk in pending_chunks(engine, flow("procuros", "ORDER"), 1000)
              for b in flow("procuros", "ORDER").build(chunk, "Europe/Berlin").payloads["body"]]
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    started = time.perf_counter()
    for body in bodies:
        answer = requests.post(f"{sandbox_url}/v2/transactions", data=body.encode(), headers=headers, timeout=30)
        assert answer.status_code == 201, answer.text
    seconds = time.perf_counter() - started
    return {"documents": len(bodies), "seconds": round(seconds, 2), "docs_per_second": round(len(bodies) / seconds, 1)}


def transform_alone(erp_url: str, size: int) -> dict:
    from erp_outbound.core import settings
    from erp_outbound.core.flows import flow
    from erp_outbound.steps.pending import pending_chunks
    from erp_outbound.erp.hook import make_engine

    build_orders(erp_url, size)
    order = flow("procuros", "ORDER")
    chunks = list(pending_chunks(make_engine(erp_url), order, settings.chunk_size()))
    started = time.perf_counter()
    built = sum(len(order.build(chunk, "Europe/Berlin").payloads) for chunk in chunks)
    seconds = time.perf_counter() - started
    return {"documents": built, "seconds": round(seconds, 2), "docs_per_second": round(built / seconds, 1)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="erp-outbound bench", description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--port", type=int, default=8795)
    parser.add_argument("--workdir", default=".bench")
    parser.add_argument("--no-dag-test", action="store_true", help="skip the whole dag.test() runs")
    parser.add_argument("--legs", default="parse,sizes,engine",
                        help="parse, sizes, engine, contract, journal, or engine legs by name (procuros, gep:faults, "
                             "...), comma-separated")
    parser.add_argument("--parse-runs", type=int, default=7, help="fresh interpreters per DAG file (parse leg)")
    parser.add_argument("--contract-baseline", default="main",
                        help="the contract leg's baseline: the git commit whose transform is today's (default main)")
    parser.add_argument("--contract-rounds", type=int, default=5, help="rounds of each contract leg; the median counts")
    parser.add_argument("--journal-rows", type=int, default=1_000_000,
                        help="journal rows the journal leg builds on PostgreSQL and MariaDB (scratch databases)")
    from erp_outbound_tools.bench import engine

    engine.add_arguments(parser)
    args = parser.parse_args(argv)
    legs = [leg.strip() for leg in args.legs.split(",") if leg.strip()]
    engine_legs = engine.legs_from(args, ",".join(leg for leg in legs
                                                  if leg not in ("sizes", "parse", "contract", "journal")))
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict = {}
    if "sizes" in legs:
        results = sizes_bench(args, workdir)
    if "parse" in legs:
        from erp_outbound_tools.bench import parse

        results["parse"] = parse.measure(args.parse_runs, parse.dags_folder())
        parse.report(results["parse"])
    if "contract" in legs:
        from erp_outbound_tools.bench import contract

        print(f"... the contract check: {max(int(s) for s in args.sizes.split(','))} ORDERs, check on and off, "
              f"beside {args.contract_baseline}", flush=True)
        results["contract"] = contract.run(max(int(s) for s in args.sizes.split(",")), workdir,
                                           args.contract_baseline, args.contract_rounds)
        contract.report(results["contract"])
    if engine_legs:
        results["engine"] = engine.run(engine_legs, args.documents, args.latency_ms, args.port + 1,
                                       workdir / "engine", args.scale_documents, args.runs)
        engine.report(results["engine"])
    if "journal" in legs:
        from erp_outbound_tools.bench import journal

        scratch = journal.scratch_urls()
        try:
            results["journal"] = journal.run(scratch, args.journal_rows // 3)
        finally:
            journal.drop_scratch(scratch)
        journal.report(results["journal"])
    print("\nBENCH " + json.dumps(results))
    return 0


def sizes_bench(args: argparse.Namespace, workdir: Path) -> dict:
    """The Procuros pipeline at each backlog size, the naive baseline and the transform alone; prints its table."""
    sizes = [int(s) for s in args.sizes.split(",") if s]
    erp_url = f"sqlite:///{workdir / 'bench-erp.db'}"
    sandbox_url = f"http://127.0.0.1:{args.port}"
    env = _env(workdir, erp_url, sandbox_url, args.concurrency)
    os.environ.update({k: v for k, v in env.items() if k.startswith(("AIRFLOW_CONN_", "ERP_OUTBOUND_"))})
    sandbox = start_sandbox(args.port, args.latency_ms, workdir / "sandbox.log")
    results: dict = {"latency_ms": args.latency_ms, "concurrency": args.concurrency, "runs": []}
    try:
        for size in sizes:
            print(f"... {size} ORDERs through extract, transform, load, reconcile", flush=True)
            run = pipeline(size, workdir, env, erp_url, sandbox_url)
            if not args.no_dag_test:
                print(f"... {size} ORDERs through a whole dag.test()", flush=True)
                run["dag_test_wall_seconds"] = dag_test_wall(size, env, erp_url, sandbox_url)
            results["runs"].append(run)
        print("... the naive baseline", flush=True)
        results["naive"] = naive(erp_url, sandbox_url, NAIVE_SAMPLE)
        print("... the transform alone", flush=True)
        results["transform"] = transform_alone(erp_url, max(sizes))
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=10)
    naive_rate = results["naive"]["docs_per_second"]
    bound = args.concurrency / (args.latency_ms / 1000)
    rows = [[r["documents"], r["seconds"], r["docs_per_second"], f"{r['docs_per_second'] / bound:.0%}",
             f"{r['docs_per_second'] / naive_rate:.1f}x", r["latency_p50_ms"], r["latency_p95_ms"],
             r.get("dag_test_wall_seconds", "-"),
             " / ".join(f"{r['steps'][s]['peak_rss_mb']:.0f}" for s in STEPS),
             " / ".join(f"{r['steps'][s]['seconds']:.1f}" for s in STEPS)] for r in results["runs"]]
    print()
    print(f"Procuros ORDERs (5 lines) against the sandbox at {args.latency_ms:g} ms, concurrency "
          f"{args.concurrency} (bound {bound:.0f}/s)")
    print(tabulate(rows, headers=["documents", "4 steps (s)", "docs/s", "of bound", "vs naive", "p50 ms",
                                  "p95 ms", "dag.test (s)", "peak RSS MB e/t/l/r", "seconds e/t/l/r"],
                   tablefmt="github"))
    print(f"\nNaive baseline (one request at a time, new connection each, {results['naive']['documents']} "
          f"documents): {naive_rate} docs/s")
    print(f"Transform alone ({results['transform']['documents']} documents): "
          f"{results['transform']['docs_per_second']} docs/s")
    return results


if __name__ == "__main__":
    sys.exit(main())
