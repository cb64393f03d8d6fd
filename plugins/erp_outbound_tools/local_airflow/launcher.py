"""Start the local Airflow, wait until it is ready, stop it without leaving a process behind."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable

import psutil
import requests

from erp_outbound_tools.local_airflow import bootstrap
from erp_outbound_tools.local_airflow.bootstrap import AIRFLOW, LocalAirflowError
from erp_outbound_tools.local_airflow.config import (
    ADMIN_USER,
    USERS,
    LocalAirflowConfig,
    airflow_environment,
    sandbox_environment,
)
from erp_outbound_tools.local_airflow.layout import DAGS_FOLDER, Layout
from erp_outbound_tools.local_airflow.processes import (
    Child,
    process_tree,
    start_child,
    stop_processes,
)
from erp_outbound_tools.local_airflow.readiness import read_admin_password, read_password, wait_until
from erp_outbound_tools.local_airflow.rest import AirflowRestClient
from erp_outbound_tools.local_airflow.state import RunningState, this_process_started

# Stopped in this order: the scheduler first, so no task starts while the others go.
AIRFLOW_PROCESSES = ("scheduler", "triggerer", "dag-processor", "api-server")
HEALTHY_COMPONENTS = ("metadatabase", "scheduler", "triggerer", "dag_processor")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _check_port_free(port: int) -> None:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise LocalAirflowError(f"Port {port} on 127.0.0.1 is in use: stop what uses it or pass --port N") from None


def expected_dag_ids() -> set[str]:
    """Each DAG file of dags/ is named after its DAG."""
    return {path.stem for path in DAGS_FOLDER.glob("*.py") if not path.name.startswith("_")}


class LocalAirflow:
    """``with LocalAirflow(config) as airflow: airflow.client().trigger(...)``; ``start()`` / ``stop()`` otherwise."""

    def __init__(self, config: LocalAirflowConfig, say: Callable[[str], None] = print) -> None:
        self.config = config
        self.layout: Layout = config.layout
        self.say = say
        self.children: list[Child] = []
        self.port = 0
        self.url = ""
        self.password = ""
        self.sandbox_url = ""
        self.erp_url = ""
        self.erp_summary: dict = {}
        self.dags: dict[str, dict] = {}  # dag_id -> the API's DAG
        self.import_errors: list[dict] = []
        self._state: RunningState | None = None

    # -- start -------------------------------------------------------------------------
    def start(self) -> LocalAirflow:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        layout = self.layout
        layout.create()
        running = RunningState.read(layout.state_file)
        if running and running.launcher_alive():
            raise LocalAirflowError(f"A local Airflow already runs from {layout.workdir} ({running.url}): "
                                    f"stop it first (make airflow-stop)")
        self.port = self.config.port or free_port()
        _check_port_free(self.port)
        self.url = f"http://127.0.0.1:{self.port}"
        self._state = RunningState(os.getpid(), this_process_started(), self.url)
        self._state.write(layout.state_file)

        self.erp_url, self.erp_summary = bootstrap.build_erp(layout, self.config.documents, self.config.seed)
        self.say(f"Demo ERP {self.erp_url}: {self.config.documents} documents (seed {self.config.seed})")
        self._start_sandbox()
        env = airflow_environment(self.config, self.port)
        setup_log = layout.log("setup")
        self.say(f"Migrating the metadata DB ({self._metadata_db_label()}), then connections and pools "
                 f"(log: {setup_log})")
        bootstrap.migrate(env, setup_log)
        connections = bootstrap.demo_connections(self.erp_url, self.sandbox_url, self.config.secrets)
        bootstrap.import_connections(connections, layout, env, setup_log)
        bootstrap.import_pools(layout, env, setup_log)
        for name in AIRFLOW_PROCESSES:
            self._start_child(name, [AIRFLOW, name], env)
        self.say(f"Started {', '.join(AIRFLOW_PROCESSES)}; waiting until {self.url} answers and the DAGs are parsed")
        self._wait_until_ready()

    def _start_sandbox(self) -> None:
        port = self.config.sandbox_port or free_port()
        self.sandbox_url = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "erp_outbound.cli", "sandbox", "--port", str(port), "--demo-tasks"]
        self._start_child("sandbox", command, sandbox_environment(self.config))
        wait_until(f"the sandbox on {self.sandbox_url}", lambda: requests.get(
            f"{self.sandbox_url}/_sandbox/health", timeout=2).ok, 30, self._check_children)

    def _start_child(self, name: str, command: list[str], env: dict[str, str]) -> None:
        child = start_child(name, command, env, self.layout.log(name))
        self.children.append(child)
        self._state.processes[name] = list(child.identity)
        self._state.write(self.layout.state_file)

    def _check_children(self) -> None:
        for child in self.children:
            code = child.exited()
            if code is not None:
                tail = "\n".join(child.log.read_text(errors="replace").splitlines()[-25:])
                raise LocalAirflowError(f"{child.name} exited with {code}; its log is {child.log}:\n{tail}")

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.config.start_timeout

        def remaining() -> float:
            return max(deadline - time.monotonic(), 1.0)

        def healthy() -> bool:
            health = requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).json()
            return all(health.get(part, {}).get("status") == "healthy" for part in HEALTHY_COMPONENTS)

        wait_until(f"Airflow's health ({self.url}/api/v2/monitor/health)", healthy, remaining(),
                   self._check_children)
        self.password = wait_until("the admin password", lambda: read_admin_password(self.layout.password_file),
                                   remaining(), self._check_children)
        client = self.client()
        expected = expected_dag_ids()

        def parsed() -> bool:
            self.dags = client.dags()
            self.import_errors = client.import_errors()
            broken = {os.path.basename(e["filename"]).removesuffix(".py") for e in self.import_errors}
            return expected <= set(self.dags) | broken

        wait_until(f"the DAGs {sorted(expected)} (see {self.layout.log('dag-processor')})", parsed, remaining(),
                   self._check_children)

    def _metadata_db_label(self) -> str:
        return "SQLite" if self.config.sql_alchemy_conn is None else self.config.sql_alchemy_conn.split(":")[0]

    # -- use ---------------------------------------------------------------------------
    def client(self, user: str = ADMIN_USER, timeout: float = 120.0) -> AirflowRestClient:
        # 120 s: on a busy machine (a shared CI box) the API server takes longer than 30 s to answer a trigger.
        return AirflowRestClient(self.url, user, self.password_of(user), timeout=timeout)

    def password_of(self, user: str) -> str:
        """The generated password of one of config.USERS (admin, operator, reader)."""
        return self.password if user == ADMIN_USER else read_password(self.layout.password_file, user) or ""

    def processes(self) -> list[psutil.Process]:
        """Every process running for this Airflow now: the children, their groups, their descendants."""
        return list(process_tree(c.identity for c in self.children).values())

    def exited_children(self) -> list[Child]:
        return [child for child in self.children if child.exited() is not None]

    def banner(self) -> str:
        logs = ", ".join(f"{c.name}.log" for c in self.children)
        dags = ", ".join(f"{dag_id}{' (paused)' if dag['is_paused'] else ''}" for dag_id, dag in sorted(self.dags.items()))
        lines = [
            "",
            f"Airflow is running: {self.url}",
            f"  user {ADMIN_USER}, password {self.password}",
            *(f"  user {user} (role {role.upper()}), password {self.password_of(user)}" for user, role in USERS.items()
              if user != ADMIN_USER),
            f"  (the simple auth manager's password file: {self.layout.password_file})",
            f"  DAGs: {dags}",
            ("  schedules on: an unpaused DAG runs every 15 minutes, and unpausing one starts its latest 15-minute "
             "run at once" if self.config.schedules else
             "  schedules off: only the runs you trigger (Trigger on a DAG); --schedules for the 15-minute runs"),
            f"  demo ERP: {self.erp_url}; vendor sandbox: {self.sandbox_url}",
            "  the demo connections' credentials (the sandbox accepts these; Admin -> Connections masks them):",
            *(f"    {line}" for line in self.config.secrets.lines()),
            f"  run reports: {self.layout.reports}",
            f"  logs: {self.layout.logs}/ ({logs}, setup.log); task logs in {self.layout.airflow_home / 'logs'}",
            "  stop: Ctrl-C here, or `make airflow-stop` from another shell",
        ]
        for error in self.import_errors:
            lines.append(f"  IMPORT ERROR in {error['filename']}: {error['stack_trace'].strip().splitlines()[-1]}")
        return "\n".join(lines)

    # -- stop --------------------------------------------------------------------------
    def stop(self) -> list[int]:
        """Stops every process this launcher started (and their children); returns the pids it had to kill."""
        order = {name: i for i, name in enumerate(AIRFLOW_PROCESSES)}
        children = sorted(self.children, key=lambda c: order.get(c.name, len(order)))
        killed = stop_processes([c.identity for c in children], self.config.stop_grace)
        for child in children:
            with contextlib.suppress(subprocess.TimeoutExpired):  # reaped already, or killed above
                child.process.wait(timeout=10)
        self.children = []
        state = RunningState.read(self.layout.state_file)
        if state and state.launcher_pid == os.getpid():
            self.layout.state_file.unlink(missing_ok=True)
        return killed

    def __enter__(self) -> LocalAirflow:  # noqa: PYI034 (a class of its own, never subclassed)
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _raise_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def run_foreground(config: LocalAirflowConfig) -> int:
    """``erp-outbound airflow``: start, print how to log in, run until Ctrl-C or SIGTERM, then stop it all."""
    # Ctrl-C stops, even when started from something that ignored SIGINT (a background job).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # airflow-stop sends SIGTERM to this process: stop as on Ctrl-C.
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGHUP, _raise_interrupt)
    airflow = LocalAirflow(config)
    code = 0
    try:
        airflow.start()
        print(airflow.banner(), flush=True)
        while not (dead := airflow.exited_children()):
            time.sleep(1)
        for child in dead:
            print(f"{child.name} exited with {child.exited()}; see {child.log}", file=sys.stderr)
        code = 1
    except KeyboardInterrupt:
        pass
    except LocalAirflowError as exc:
        print(f"erp-outbound airflow: {exc}", file=sys.stderr)
        code = 1
    finally:
        # A second Ctrl-C must not cut the stop short and leave processes behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print(f"Stopping the local Airflow (up to {config.stop_grace:.0f} s)...", flush=True)
        killed = airflow.stop()
        print("Stopped" + (f" (killed {len(killed)} processes that ignored SIGTERM)" if killed else "") + ".",
              flush=True)
    return code


def stop_running(workdir, grace: float = 20.0) -> int:
    """``erp-outbound airflow-stop``: ask the launcher to stop, then make sure nothing of it is left."""
    layout = Layout.at(workdir)
    state = RunningState.read(layout.state_file)
    if state is None:
        print(f"No local Airflow runs from {layout.workdir} (no {layout.state_file.name}).")
        return 0
    if state.launcher_alive():
        print(f"Stopping the local Airflow at {state.url} (launcher pid {state.launcher_pid})...", flush=True)
        os.kill(state.launcher_pid, signal.SIGTERM)
        deadline = time.monotonic() + grace + 30
        while state.launcher_alive() and time.monotonic() < deadline:
            time.sleep(0.5)
    # Whatever the launcher left (all of it, when the launcher died without stopping them).
    killed = stop_processes(state.leaders(), grace)
    layout.state_file.unlink(missing_ok=True)
    print("Stopped" + (f"; killed {len(killed)} leftover processes" if killed else "") + ".")
    return 0
