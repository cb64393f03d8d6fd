"""Limits on how hard we push a vendor: adaptive concurrency and a request rate."""

from __future__ import annotations

import asyncio
import threading
import time


class AdaptiveLimit:
    """At most ``limit`` requests in flight. Halves on 429, grows back by one per success streak."""

    def __init__(self, maximum: int, recover_after: int = 20):
        self.maximum = maximum
        self.limit = maximum
        self.recover_after = recover_after
        self._in_flight = 0
        self._streak = 0
        self._cond = threading.Condition()
        self.lowest = maximum

    def __enter__(self) -> AdaptiveLimit:
        with self._cond:
            while self._in_flight >= self.limit:
                self._cond.wait()
            self._in_flight += 1
        return self

    def __exit__(self, *exc) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify()

    def throttled(self) -> None:
        with self._cond:
            self.limit = max(1, self.limit // 2)
            self.lowest = min(self.lowest, self.limit)
            self._streak = 0

    def succeeded(self) -> None:
        with self._cond:
            self._streak += 1
            if self.limit < self.maximum and self._streak >= self.recover_after:
                self.limit += 1
                self._streak = 0
                self._cond.notify()


class RateLimit:
    """A token bucket: at most ``per_second`` request starts per second (0 = unlimited)."""

    def __init__(self, per_second: float):
        self.per_second = per_second
        self._lock = threading.Lock()
        self._next = time.monotonic()

    def reserve(self) -> float:
        """Book the next request start; returns how long to wait for it."""
        if self.per_second <= 0:
            return 0.0
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + 1.0 / self.per_second
        return start - now

    def wait(self) -> None:
        delay = self.reserve()
        if delay > 0:
            time.sleep(delay)


class Pause:
    """A shared pause after a Retry-After, so all senders back off together."""

    def __init__(self):
        self._until = 0.0
        self._lock = threading.Lock()

    def extend(self, seconds: float) -> None:
        with self._lock:
            self._until = max(self._until, time.monotonic() + seconds)

    def remaining(self) -> float:
        return self._until - time.monotonic()

    def wait(self) -> None:
        delay = self.remaining()
        if delay > 0:
            time.sleep(delay)


class AsyncAdaptiveLimit(AdaptiveLimit):
    """AdaptiveLimit for coroutines of one event loop: ``async with limit:``."""

    def __init__(self, maximum: int, recover_after: int = 20):
        super().__init__(maximum, recover_after)
        self._changed = asyncio.Event()

    async def __aenter__(self) -> AsyncAdaptiveLimit:
        while self._in_flight >= self.limit:
            self._changed.clear()
            await self._changed.wait()
        self._in_flight += 1
        return self

    async def __aexit__(self, *exc) -> None:
        self._in_flight -= 1
        self._changed.set()

    def succeeded(self) -> None:
        super().succeeded()
        self._changed.set()
