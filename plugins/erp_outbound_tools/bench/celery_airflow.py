"""A local Airflow with the CeleryExecutor: ``local_airflow``'s launcher plus N Celery workers.

The launcher (api-server, scheduler, dag-processor, triggerer) runs with
``executor=CeleryExecutor``; the broker is Redis, the result backend and the metadata DB
PostgreSQL. Each worker is ``airflow celery worker --concurrency 1`` with a name of its own,
and reports that name as the hostname of the task instances it runs, so a run shows which
worker ran which task (on separate machines the real host names do that).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from erp_outbound_tools.local_airflow import LocalAirflow, LocalAirflowConfig
from erp_outbound_tools.local_airflow.bootstrap import AIRFLOW, LocalAirflowError
from erp_outbound_tools.local_airflow.config import airflow_environment
from erp_outbound_tools.local_airflow.processes import (
    Child,
    process_tree,
    start_child,
    stop_processes,
)

WORKER_NAME_VARIABLE = "ERP_OUTBOUND_WORKER_NAME"
HOSTNAME_CALLABLE = "erp_outbound_tools.bench.celery_airflow.worker_hostname"


def worker_hostname() -> str:
    """``[core] hostname_callable`` of the workers: their ``-H`` name instead of this machine's name."""
    from airflow.utils.net import getfqdn

    return os.environ.get(WORKER_NAME_VARIABLE) or getfqdn()


def celery_environment(broker_url: str, metadata_url: str) -> dict[str, str]:
    """What every Airflow process needs to know of Celery (the scheduler sends, the workers take)."""
    return {
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__BROKER_URL": broker_url,
        # Celery's database result backend speaks SQLAlchemy: "db+" and the metadata DB's URL, its driver
        # named (SQLAlchemy 2.1 takes psycopg 3 for a plain postgresql://, which is not installed).
        "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + metadata_url,
        "AIRFLOW__CELERY__WORKER_CONCURRENCY": "1",
    }


class CeleryWorkers:
    """``airflow celery worker`` processes, started beside a LocalAirflow and stopped without orphans."""

    def __init__(self, airflow: LocalAirflow, broker_url: str, say: Callable[[str], None] = print) -> None:
        self.airflow = airflow
        self.broker_url = broker_url
        self.say = say
        self.children: list[Child] = []

    @property
    def names(self) -> list[str]:
        return [child.name for child in self.children]

    def start(self, count: int, timeout: float = 120.0) -> list[str]:
        """Starts ``count`` workers (worker-1, worker-2, ...) and waits until each answers a ping."""
        env = airflow_environment(self.airflow.config, self.airflow.port)
        for n in range(1, count + 1):
            name = f"worker-{n}"
            # --skip-serve-logs: the log server's port would clash between workers on one machine,
            # and the api-server reads the task logs from the shared AIRFLOW_HOME anyway.
            command = [AIRFLOW, "celery", "worker", "--concurrency", "1", "-H", name, "--skip-serve-logs"]
            worker_env = env | {WORKER_NAME_VARIABLE: name, "AIRFLOW__CORE__HOSTNAME_CALLABLE": HOSTNAME_CALLABLE}
            self.children.append(start_child(name, command, worker_env, self.airflow.layout.log(name)))
        self._wait_until_ready(timeout)
        self.say(f"Celery workers ready: {', '.join(self.names)}")
        return self.names

    def _wait_until_ready(self, timeout: float) -> None:
        from celery import Celery

        app = Celery(broker=self.broker_url)
        deadline = time.monotonic() + timeout
        waiting = set(self.names)
        try:
            while waiting:
                self._check_alive()
                answers = app.control.ping(timeout=1.0)
                waiting -= {name.partition("@")[2] or name for answer in answers for name in answer}
                if waiting and time.monotonic() > deadline:
                    raise LocalAirflowError(f"Celery workers {sorted(waiting)} did not answer within {timeout:.0f} s "
                                            f"(logs in {self.airflow.layout.logs})")
        finally:
            app.close()

    def _check_alive(self) -> None:
        for child in self.children:
            if child.exited() is not None:
                tail = "\n".join(child.log.read_text(errors="replace").splitlines()[-25:])
                raise LocalAirflowError(f"{child.name} exited with {child.exited()}; its log is {child.log}:\n{tail}")

    def processes(self) -> list:
        return list(process_tree(c.identity for c in self.children).values())

    def stop(self, grace: float = 20.0) -> list[int]:
        """SIGTERM (a warm shutdown: running tasks finish), SIGKILL after ``grace``; returns killed pids."""
        killed = stop_processes([c.identity for c in self.children], grace)
        for child in self.children:
            if child.exited() is None:
                child.process.wait(timeout=10)
        self.children = []
        return killed


class CeleryAirflow:
    """``with CeleryAirflow(config, broker_url, workers=2) as airflow:`` the launcher's Airflow plus workers.

    ``config`` carries the PostgreSQL metadata DB (``sql_alchemy_conn``); the Celery settings
    are added to its ``extra_env`` so every process, the workers too, gets the same.
    """

    def __init__(self, config: LocalAirflowConfig, broker_url: str, workers: int,
                 say: Callable[[str], None] = print) -> None:
        if not config.sql_alchemy_conn:
            raise ValueError("the CeleryExecutor needs a metadata DB every worker reaches (sql_alchemy_conn)")
        config.executor = "CeleryExecutor"
        config.extra_env = celery_environment(broker_url, config.sql_alchemy_conn) | config.extra_env
        self.airflow = LocalAirflow(config, say=say)
        self.workers = CeleryWorkers(self.airflow, broker_url, say=say)
        self.worker_count = workers

    def start(self) -> CeleryAirflow:
        self.airflow.start()
        try:
            self.workers.start(self.worker_count)
        except BaseException:
            self.stop()
            raise
        return self

    def processes(self) -> list:
        return self.airflow.processes() + self.workers.processes()

    def stop(self) -> list[int]:
        # The scheduler first (nothing new is queued), then the workers.
        killed = self.airflow.stop()
        return killed + self.workers.stop(self.airflow.config.stop_grace)

    def __enter__(self) -> CeleryAirflow:  # noqa: PYI034
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
