"""CPU seconds spent while a run goes: the whole machine's and a group of processes'.

What bounds a speedup on a small machine is usually CPU, so a round reports how busy the
machine was (everything on it, other work too) and what the sandbox and the workers used.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import psutil


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent on anything but idling, since boot."""
    times = psutil.cpu_times()
    return sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal"))


def processes_cpu_seconds(processes: Iterable[psutil.Process]) -> float:
    """CPU seconds of the processes, including their children that have exited and been waited for."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


@dataclass
class CpuMeter:
    """Started before a run, read after it: ``meter.read(seconds, groups)``."""

    machine_start: float
    groups_start: dict[str, float]

    @classmethod
    def start(cls, groups: dict[str, list[psutil.Process]]) -> CpuMeter:
        return cls(machine_busy_seconds(), {name: processes_cpu_seconds(p) for name, p in groups.items()})

    def read(self, wall_seconds: float, groups: dict[str, list[psutil.Process]]) -> dict:
        cores = psutil.cpu_count() or 1
        busy = machine_busy_seconds() - self.machine_start
        used = {f"{name}_cpu_s": round(processes_cpu_seconds(p) - self.groups_start.get(name, 0.0), 1)
                for name, p in groups.items()}
        return {"machine_busy_pct": round(100 * busy / (wall_seconds * cores), 1), **used}
