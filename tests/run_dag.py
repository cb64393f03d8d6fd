"""Run one DAG with dag.test() in its own process: ``python tests/run_dag.py DAG_ID '{"conf": 1}' [RUN_AFTER]``.

The crash and concurrency tests start this as a real separate process (and kill it).
Connections and folders come from the environment the test sets. RUN_AFTER (ISO 8601) fixes the
run id, so runs started at the same moment never share one.

Test hook, installed here and never in the product: with ``ERP_OUTBOUND_TEST_RENDEZVOUS`` set to a
folder, runs meet there twice, so two runs interleave by construction, not by luck:
- ``claimed``: a run that has just claimed its first chunk waits until every run holds a first chunk;
- ``reconcile``: a run starting reconcile waits until every run starts reconcile.
"""

from __future__ import annotations

import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

from erp_outbound_tools.demo.run import load_dag

RENDEZVOUS_PARTIES = 2
RENDEZVOUS_TIMEOUT = 300.0


def rendezvous(folder: Path, step: str) -> None:
    """Say this run reached ``step``; return once every run has. Fails (no hang) if one never does."""
    (folder / f"{step}.{os.getpid()}").touch()
    print(f"TEST-RENDEZVOUS {step}: arrived", flush=True)
    deadline = time.monotonic() + RENDEZVOUS_TIMEOUT
    while len(list(folder.glob(f"{step}.*"))) < RENDEZVOUS_PARTIES:
        if time.monotonic() > deadline:
            raise RuntimeError(f"test rendezvous {step!r}: the other run never arrived")
        time.sleep(0.01)
    print(f"TEST-RENDEZVOUS {step}: all arrived", flush=True)


def install_rendezvous(folder: Path) -> None:
    """Wrap Claims.claim and ReconcileOperator.execute in this process only (dag.test runs tasks in it)."""
    from erp_outbound.erp.claims import Claims
    from erp_outbound.steps.reconcile import ReconcileOperator

    claim, execute = Claims.claim, ReconcileOperator.execute
    first_chunk_held = []

    def claim_then_meet(self, vendor, doc_type, document_ids):
        held = claim(self, vendor, doc_type, document_ids)
        if held and not first_chunk_held:
            first_chunk_held.append(len(held))
            rendezvous(folder, "claimed")
        return held

    def meet_then_reconcile(self, context):
        rendezvous(folder, "reconcile")
        return execute(self, context)

    Claims.claim = claim_then_meet
    ReconcileOperator.execute = meet_then_reconcile


def initialize_metrics() -> None:
    """What the task runner's main() does before a task: metrics go where [metrics] says (dag.test() skips it)."""
    from airflow.sdk.configuration import conf
    from airflow.sdk.observability import stats
    from airflow.sdk.observability.metrics.stats_utils import get_stats_factory

    stats.initialize(factory=get_stats_factory(), export_legacy_names=conf.getboolean("metrics", "legacy_names_on"))


if __name__ == "__main__":
    initialize_metrics()
    dag = load_dag(sys.argv[1])
    if os.environ.get("ERP_OUTBOUND_TEST_RENDEZVOUS"):
        install_rendezvous(Path(os.environ["ERP_OUTBOUND_TEST_RENDEZVOUS"]))
    run_after = datetime.fromisoformat(sys.argv[3]) if len(sys.argv) > 3 else None
    dag_run = dag.test(run_conf=json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}, run_after=run_after)
    print(f"RUN-ID {dag_run.run_id}", flush=True)
    print(f"RUN-STATE {dag_run.state}", flush=True)
