"""Child processes in process groups of their own, each with its own log file, stopped without orphans.

Each child starts a new session, so Ctrl-C in the terminal reaches only the launcher, which
then stops the children in order. A child is known by its pid and start time (a later
process with the same pid is not ours). Its processes are its process group and all its
descendants: Airflow puts every task process in a group of its own, and api-server,
workers and tasks rename themselves (setproctitle), so neither the group nor the command
line alone finds them all.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import psutil

Identity = tuple[int, float]  # (pid, start time): a pid is reused, the pair is not


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log: Path
    started: float

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def identity(self) -> Identity:
        return self.pid, self.started

    def exited(self) -> int | None:
        return self.process.poll()


def start_child(name: str, command: list[str], env: dict[str, str], log: Path) -> Child:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as output:
        process = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL, stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    return Child(name, process, log, psutil.Process(process.pid).create_time())


def find(identity: Identity) -> psutil.Process | None:
    pid, started = identity
    try:
        process = psutil.Process(pid)
        return process if process.create_time() == started else None
    except psutil.NoSuchProcess:
        return None


def running(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def process_tree(leaders: Iterable[Identity]) -> dict[int, psutil.Process]:
    """The leaders, everything in their process groups, and all their descendants, by pid."""
    leaders = list(leaders)
    found: dict[int, psutil.Process] = {}
    for identity in leaders:
        if (leader := find(identity)) is not None:
            found[leader.pid] = leader
            for descendant in _descendants(leader):
                found[descendant.pid] = descendant
    # A group outlives its leader, and while any member lives its id is not given to a new process.
    first_start = {pid: started for pid, started in leaders}
    for process in psutil.process_iter():
        try:
            group = _group(process)
            if group in first_start and process.create_time() >= first_start[group]:
                found.setdefault(process.pid, process)
                for descendant in _descendants(process):
                    found.setdefault(descendant.pid, descendant)
        except psutil.NoSuchProcess:
            continue
    return found


def _descendants(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _signal_groups(leaders: list[Identity], sig: signal.Signals) -> None:
    for identity in leaders:
        if find(identity) is not None:
            try:
                os.killpg(identity[0], sig)
            except ProcessLookupError:
                pass


def stop_processes(leaders: Iterable[Identity], grace: float) -> list[int]:
    """SIGTERM to each leader's group (in the given order), SIGKILL after ``grace`` s to whatever is left.

    Returns the pids that had to be killed.
    """
    leaders = list(leaders)
    tree = process_tree(leaders)
    _signal_groups(leaders, signal.SIGTERM)
    # Task processes (groups of their own) and members of a group whose leader has gone: one by one.
    led_groups = {identity[0] for identity in leaders if find(identity) is not None}
    for process in tree.values():
        if _group(process) not in led_groups:
            _quietly(process.terminate)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        tree.update(process_tree(leaders))  # a task or worker started while the others stopped
        if not any(running(p) for p in tree.values()):
            return []
        time.sleep(0.2)
    survivors = [p for p in {**tree, **process_tree(leaders)}.values() if running(p)]
    _signal_groups(leaders, signal.SIGKILL)
    for process in survivors:
        _quietly(process.kill)
    psutil.wait_procs(survivors, timeout=10)
    return sorted(p.pid for p in survivors)


def _group(process: psutil.Process) -> int | None:
    try:
        return os.getpgid(process.pid)
    except ProcessLookupError:
        return None


def _quietly(action) -> None:
    try:
        action()
    except psutil.NoSuchProcess:
        pass
