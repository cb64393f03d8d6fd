"""Pacing: find and hold the request rate a vendor accepts.

Every answer is counted in short windows (``WINDOW_SECONDS``). 429s beyond what chance
explains (more than three standard errors above the share of 429s taken as noise, zero at
first) mean "too fast": the pace drops to a little under the rate the vendor accepted, i.e.
the non-429 answers per second since the window's first 429 (an emptied token bucket
refills at exactly the vendor's limit). The next window tells the two kinds of 429 apart:

- load-driven: at the lower pace the share falls back to the noise level. The pace is held
  and probed upward, by 1% after a clean window, doubling the step while windows stay
  clean; a 429 episode cuts it again. A pace far above what is sent is dropped.
- random: the share did not fall although we sent slower. The cut is undone at once and
  that share becomes the noise level (a moving average), so random 429s never ratchet
  the rate down. A share that fell but not to the noise level cuts again.

The connection's ``max_requests_per_second`` is a ceiling on top of this.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

WINDOW_SECONDS = 0.25
UNDER = 0.95  # pace this share of the accepted rate after a cut
FIRST_PROBE = 0.01  # first upward step after a clean window; doubles while windows stay clean
MIN_RATE = 1.0  # requests per second: a cut never stops sending


def excess(share: float, noise: float, answers: int) -> bool:
    """``share`` of 429s is more than three standard errors above the ``noise`` share."""
    p = max(noise, 1.0 / answers)
    return share > noise + 3 * math.sqrt(p * (1 - p) / answers)


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
        if now - w.started >= self.window_seconds:
            self._close(w, now)
            self._window = Window(now)

    def _close(self, w: Window, now: float) -> None:
        span = max(now - w.started, 1e-9)
        share = w.throttled / w.answers
        if self._verifying is not None:
            cause, before = self._verifying
            self._verifying = None
            if not excess(share, self.noise, w.answers):
                self._probe = FIRST_PROBE  # load-driven: hold this pace
                return
            if share >= cause - 3 * math.sqrt(cause * (1 - cause) / w.answers):
                self.rate = before  # random: slowing down did not help; undo the cut
                self.noise = share if self.noise == 0 else 0.8 * self.noise + 0.2 * share
                return
            self._cut(w, now, span, share)  # fell, but not far enough: cut again
            return
        if w.throttled and excess(share, self.noise, w.answers):
            self._cut(w, now, span, share)
            return
        if self.noise:
            self.noise = 0.8 * self.noise + 0.2 * share
        if self.rate is not None and not w.throttled:
            sent_rate = w.answers / span
            if self.rate > 2 * sent_rate:
                self.rate = None  # the pace no longer binds: something else limits us
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
        self.rate = max(MIN_RATE, UNDER * min(accepted_rate, sent_rate, before or math.inf))
        self.lowest = self.rate if self.lowest is None else min(self.lowest, self.rate)
        self.cuts += 1
        self._probe = FIRST_PROBE
        self._verifying = (share, before)
