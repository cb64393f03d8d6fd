"""Pacing: find and hold the request rate a vendor accepts.

Answers are counted in windows of at least ``WINDOW_SECONDS`` and ``WINDOW_ANSWERS``
answers. A window has too many 429s when it has any while no random share of 429s is
known, or when its share is more than three standard errors above that known share.
Too many 429s cut the pace to a little under the rate the vendor accepted: the non-429
answers per second since the window's first 429 (an emptied token bucket refills at
exactly the vendor's limit). The next window tells the two kinds of 429 apart:

- back to normal: the 429s were load-driven. The pace is held, then probed upward after
  each normal window: by 1% while within 10% of the accepted rate that caused the cut, and
  beyond that by a step that doubles while windows stay normal (the limit has moved); too
  many 429s cut it again. A pace far above what is actually sent is dropped.
- the same share within three standard errors although we sent slower: the 429s are
  random. The cut is undone at once and that share becomes the known random share (a
  moving average), so random 429s never ratchet the pace down.
- a share that rose or fell but is still too high: load-driven, the cut was not deep
  enough (e.g. the vendor's burst allowance ran out): cut again.

The connection's ``max_requests_per_second`` is a ceiling on top of this.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 0.25
WINDOW_ANSWERS = 20  # fewer answers cannot tell a share from chance
UNDER = 0.95  # pace this share of the accepted rate after a cut
FIRST_PROBE = 0.01  # upward step after a normal window near the known limit; beyond it doubles
NEAR_LIMIT = 0.1
MIN_RATE = 1.0  # requests per second: a cut never stops sending


def standard_error(share: float, answers: int) -> float:
    p = min(max(share, 1.0 / answers), 1 - 1.0 / answers)
    return math.sqrt(p * (1 - p) / answers)


@dataclass
class Window:
    started: float
    answers: int = 0
    throttled: int = 0
    first_throttled_at: float | None = None
    accepted_since_first: int = 0


class RateController:
    def __init__(self, ceiling: float = 0.0, clock: Callable[[], float] = time.monotonic,
                 window_seconds: float = WINDOW_SECONDS):
        self.ceiling = ceiling  # the connection's max_requests_per_second; 0 = none
        self.clock = clock
        self.window_seconds = window_seconds
        self.rate: float | None = None  # our pace in requests per second; None = unpaced
        self.lowest: float | None = None
        self.noise = 0.0  # share of 429s that slowing down did not remove
        self.cuts = 0
        self.limit_seen: float | None = None  # the accepted rate at the last cut: the vendor's limit
        self._verifying: tuple[float, float | None] | None = None  # (share that caused the cut, rate before)
        self._probe = FIRST_PROBE
        self._next_start = clock()
        self._window = Window(clock())

    # -- before a request ---------------------------------------------------------
    def delay(self) -> float:
        """Book the next request start; returns how long to wait for it (0 when unpaced)."""
        limits = [r for r in (self.rate, self.ceiling) if r]
        if not limits:
            return 0.0
        now = self.clock()
        start = max(now, self._next_start)
        self._next_start = start + 1.0 / min(limits)
        return start - now

    # -- after an answer ------------------------------------------------------------
    def answered(self, throttled: bool) -> None:
        now = self.clock()
        w = self._window
        w.answers += 1
        if throttled:
            w.throttled += 1
            if w.first_throttled_at is None:
                w.first_throttled_at = now
        elif w.first_throttled_at is not None:
            w.accepted_since_first += 1
        if now - w.started >= self.window_seconds and w.answers >= WINDOW_ANSWERS:
            self._close(w, now)
            self._window = Window(now)

    def _too_many(self, share: float, answers: int) -> bool:
        if self.noise == 0:
            return share > 0
        return share > self.noise + 3 * standard_error(self.noise, answers)

    def _close(self, w: Window, now: float) -> None:
        span = max(now - w.started, 1e-9)
        share = w.throttled / w.answers
        too_many = self._too_many(share, w.answers)
        if self._verifying is not None:
            cause, before = self._verifying
            self._verifying = None
            if not too_many:
                self._probe = FIRST_PROBE  # load-driven: hold this pace
                return
            if abs(share - cause) <= 3 * standard_error(cause, w.answers):
                self.rate = before  # random: slowing down did not change the share; undo the cut
                self.noise = share if self.noise == 0 else 0.8 * self.noise + 0.2 * share
                return
            self._cut(w, now, span, share)  # load-driven, not deep enough: cut again
            return
        if too_many:
            self._cut(w, now, span, share)
            return
        if self.noise:
            self.noise = 0.8 * self.noise + 0.2 * share
        if self.rate is not None:
            if self.rate > 2 * w.answers / span:
                self.rate = None  # the pace no longer binds: something else limits us
            elif self.limit_seen is not None and self.rate < (1 + NEAR_LIMIT) * self.limit_seen:
                self.rate *= 1 + FIRST_PROBE  # close to the known limit: creep
            else:
                self.rate *= 1 + self._probe
                self._probe = min(1.0, self._probe * 2)

    def _cut(self, w: Window, now: float, span: float, share: float) -> None:
        since_first = now - w.first_throttled_at
        if since_first >= span / 2:
            accepted_rate = w.accepted_since_first / since_first
        else:
            accepted_rate = (w.answers - w.throttled) / span
        sent_rate = w.answers / span
        before = self.rate
        self.limit_seen = accepted_rate
        self.rate = max(MIN_RATE, UNDER * min(accepted_rate, sent_rate, before or math.inf))
        self.lowest = self.rate if self.lowest is None else min(self.lowest, self.rate)
        self.cuts += 1
        self._probe = FIRST_PROBE
        self._verifying = (share, before)
