"""Progress lines for long work: done/total, rate and ETA, at most every few seconds."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("erp_outbound.progress")


def duration(seconds: float) -> str:
    """42s, 7m05s, 2h03m: an ETA of a long backlog stays readable."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    def __init__(self, total: int, label: str, every: float = 10.0):
        self.total = total
        self.label = label
        self.every = every
        self.done = 0
        self.started = time.monotonic()
        self._last = self.started

    def advance(self, count: int = 1) -> None:
        self.done += count
        now = time.monotonic()
        if now - self._last >= self.every:
            self._last = now
            self._log(now)

    def _log(self, now: float, finished: bool = False) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        share = 100.0 * self.done / self.total if self.total else 100.0
        if finished:
            tail = f"took {duration(elapsed)}"
        elif rate > 0:
            tail = f"ETA {duration((self.total - self.done) / rate)}"
        else:
            tail = "ETA unknown"
        log.info("%s: %d/%d (%.0f%%), %.0f/s, %s", self.label, self.done, self.total, share, rate, tail)

    def finish(self) -> None:
        self._log(time.monotonic(), finished=True)
