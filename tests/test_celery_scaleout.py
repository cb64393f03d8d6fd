"""Scale-out: two Celery workers share one backlog, and no document is sent twice.

A real local Airflow with the CeleryExecutor (broker: the local Redis; metadata DB, result
backend and ERP: fresh PostgreSQL databases) and two ``airflow celery worker --concurrency 1``
processes. 400 ORDERs split into 4 load parts of 100, so ``load`` expands to 4 mapped tasks.

Why both workers always get load tasks: the Procuros pool has 2 slots, so the scheduler
queues two load tasks at once. Airflow's Celery settings (prefetch multiplier 1, late acks)
let a worker with concurrency 1 hold only the task it runs, so while one worker runs a load
task the other queued one can only go to the other, idle worker. The sandbox's latency (50 ms,
2 requests at a time: about 2.5 s of sending per task) keeps each task busy far longer than
the moment between the two being queued.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from erp_outbound_tools.bench.distributed import RoundSetup, run_round

pytestmark = [pytest.mark.celery, pytest.mark.postgres, pytest.mark.e2e]


def test_two_celery_workers_share_the_load_tasks_and_send_every_document_once(tmp_path, postgres_url, redis_url):
    setup = RoundSetup(workers=2, documents=400, load_task_size=100, workdir=tmp_path, broker_url=redis_url,
                       latency_ms=50, max_concurrency=2, database_prefix=f"erp_outbound_celery_test_{os.getpid()}",
                       run_timeout=150, start_timeout=180)

    result = run_round(setup, say=print)  # raises (the test fails) when Airflow or a worker cannot start
    print(result.summary())  # shown when the test fails

    states = {(t["task_id"], t["map_index"]): t["state"] for t in result.task_instances}
    assert result.run["state"] == "success", states
    loads = result.load_tasks
    assert [t["map_index"] for t in loads] == [0, 1, 2, 3], states
    assert {t["state"] for t in loads} == {"success"}
    # Both workers ran load tasks (each reports its -H name as the task instance's hostname).
    assert {t["hostname"] for t in loads} == {"worker-1", "worker-2"}

    # The sandbox received every ORDER of the backlog exactly once, and accepted each.
    assert len(result.order_numbers) == 400
    sends = Counter(str(t["identifier"]) for t in result.transactions)
    assert set(sends) == result.order_numbers
    assert [order for order, n in sends.items() if n > 1] == []
    assert {t["status_code"] for t in result.transactions} == {201}
    # ... and the ERP recorded each as transmitted.
    assert result.erp_statuses == {"TRANSMITTED": 400}

    # Nothing of this Airflow is left running: workers, scheduler, api-server, sandbox, tasks.
    assert result.left_running == []
