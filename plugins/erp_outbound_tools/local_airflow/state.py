"""The pid file of a running local Airflow: what ``erp-outbound airflow-stop`` needs to stop it."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psutil

from erp_outbound_tools.local_airflow.processes import Identity, find, running


@dataclass
class RunningState:
    launcher_pid: int
    launcher_started: float  # its start time: tells the launcher from a later process with its pid
    url: str = ""
    processes: dict[str, list[float]] = field(default_factory=dict)  # name -> [pid, start time]

    def write(self, path: Path) -> None:
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps(asdict(self), indent=2) + "\n")
        os.replace(temporary, path)  # a reader never sees half a file

    @classmethod
    def read(cls, path: Path) -> RunningState | None:
        try:
            return cls(**json.loads(path.read_text()))
        except FileNotFoundError:
            return None

    def launcher_alive(self) -> bool:
        launcher = find((self.launcher_pid, self.launcher_started))
        return launcher is not None and running(launcher)

    def leaders(self) -> list[Identity]:
        return [(int(pid), started) for pid, started in self.processes.values()]


def this_process_started() -> float:
    return psutil.Process().create_time()
