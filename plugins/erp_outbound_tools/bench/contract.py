"""The contract check's cost (``make bench LEGS=contract``): the transform with and without it.

One ERP of ORDERs (5 lines each, bench/workload.py), extracted once into chunks; then, interleaved
and repeated (the median of ``rounds`` each, as the machine is shared):

- ``baseline``: today's transform, the builder of a git commit (``--contract-baseline``, default
  ``main``) exported with ``git archive`` and run in a subprocess on the same chunks;
- ``check off``: this checkout's builder alone;
- ``check on``: this checkout's transform path, ``build_checked`` (builder, then the contract).

The figure the issue asks for is ``check on`` against ``baseline`` (the whole change, builders'
fixes included); ``check on`` against ``check off`` is the check alone.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from erp_outbound_tools.bench.workload import build_orders

TZ = "Europe/Berlin"

# Runs inside the baseline's export: times its builder on the pickled chunks, prints seconds per round.
_BASELINE = """
import gc, json, pickle, statistics, sys, time
from erp_outbound.core.batch import Extracted
from erp_outbound.core.flows import flow
frames, rounds = pickle.load(open(sys.argv[1], "rb")), int(sys.argv[2])
order = flow("procuros", "ORDER")
times = []
for _ in range(rounds):
    chunks = [Extracted(h.reset_index(drop=True), l, p.reset_index(drop=True)) for h, l, p in frames]
    gc.collect()
    started = time.perf_counter()
    built = sum(len(order.build(chunk, "Europe/Berlin").payloads) for chunk in chunks)
    times.append(time.perf_counter() - started)
print(json.dumps({"documents": built, "seconds": statistics.median(times)}))
"""


def _chunks(erp_url: str):
    from erp_outbound.core import settings
    from erp_outbound.core.flows import flow
    from erp_outbound.erp.hook import make_engine
    from erp_outbound.steps.pending import pending_chunks

    return list(pending_chunks(make_engine(erp_url), flow("procuros", "ORDER"), settings.chunk_size()))


def _export(commit: str, into: Path) -> Path:
    """``plugins/`` of ``commit`` (git archive: no worktree, nothing of the repository changes)."""
    archive = into / "baseline.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", commit, "plugins"], stdout=out, check=True)
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    return into / "plugins"


def _timed(run, chunks) -> tuple[int, float]:
    import gc

    gc.collect()
    started = time.perf_counter()
    built = sum(len(run(chunk).payloads) for chunk in chunks)
    return built, time.perf_counter() - started


def run(size: int, workdir: Path, baseline_commit: str = "main", rounds: int = 5) -> dict:
    import copy
    import statistics

    from erp_outbound.core.contract import build_checked, contract
    from erp_outbound.core.flows import flow

    erp_url = f"sqlite:///{workdir / 'bench-contract-erp.db'}"
    (workdir / "bench-contract-erp.db").unlink(missing_ok=True)
    build_orders(erp_url, size)
    chunks = _chunks(erp_url)
    order = flow("procuros", "ORDER")
    contract("procuros").validator("ORDER")  # compiled once per process, as in a worker
    frames = workdir / "bench-contract-chunks.pickle"
    frames.write_bytes(pickle.dumps([(c.headers, c.lines, c.parties) for c in chunks]))

    times: dict[str, list[float]] = {"off": [], "on": []}
    documents = 0
    for _ in range(rounds):
        for label, build in (("off", lambda c: order.build(c, TZ)),
                             ("on", lambda c: build_checked("procuros", order, c, TZ))):
            documents, seconds = _timed(build, copy.deepcopy(chunks))
            times[label].append(seconds)
    median = {label: statistics.median(seconds) for label, seconds in times.items()}

    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        plugins = _export(baseline_commit, Path(tmp))
        env = {**os.environ, "PYTHONPATH": str(plugins)}
        answer = subprocess.run([sys.executable, "-c", _BASELINE, str(frames), str(rounds)], env=env,
                                capture_output=True, text=True, check=True)
    baseline = json.loads(answer.stdout.strip().splitlines()[-1])
    rate = {"baseline": baseline["documents"] / baseline["seconds"],
            "off": documents / median["off"], "on": documents / median["on"]}
    return {"documents": documents, "chunks": len(chunks), "baseline_commit": baseline_commit,
            "docs_per_second": {k: round(v, 1) for k, v in rate.items()},
            "on_vs_baseline": round(rate["on"] / rate["baseline"], 2),
            "on_vs_off": round(rate["on"] / rate["off"], 2)}


def report(result: dict) -> None:
    rates = result["docs_per_second"]
    print(f"\nContract check ({result['documents']} ORDERs, 5 lines, {result['chunks']} chunks; median of rounds):")
    print(f"  today's transform ({result['baseline_commit']}): {rates['baseline']} docs/s")
    print(f"  this checkout, check off: {rates['off']} docs/s")
    print(f"  this checkout, check on:  {rates['on']} docs/s  = {result['on_vs_baseline']}x today's, "
          f"{result['on_vs_off']}x check off")
