"""Progress lines for long work: done/total, rate and ETA, at most every few seconds."""

from __future__ import annotations

import logging
import time

log = logging.getLogger("erp_outbound.progress")


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

    def _log(self, now: float) -> None:
        elapsed = max(now - self.started, 1e-9)
        rate = self.done / elapsed
        remaining = (self.total - self.done) / rate if rate > 0 else float("inf")
        share = 100.0 * self.done / self.total if self.total else 100.0
        log.info(
            "%s: %d/%d (%.0f%%), %.0f/s, ETA %s",
            self.label, self.done, self.total, share, rate,
            f"{remaining:.0f}s" if remaining != float("inf") else "unknown",
        )

    def finish(self) -> None:
        self._log(time.monotonic())
