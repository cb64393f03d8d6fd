"""The outage breaker: "the vendor is down" decided from a failure rate, as a circuit breaker does.

Every try of a document ends as an answer or a failure. A failure is no answer at all (timeout,
lost connection, no token) or a 5xx; anything else the vendor answered is an answer, whatever it
said: a verdict, a 429 (the vendor is up and asks us to slow down, which the pace in
core/pacing.py and Retry-After take care of), a 408, a garbled 200. The breaker keeps the
outcomes of the last ``breaker_window`` tries (a count-based sliding window, as resilience4j's
COUNT_BASED breaker does) and opens once at least ``breaker_min_tries`` were seen and the failed
share of the window reaches ``breaker_failure_rate``.

30% random transient faults fail about a quarter of the tries (a retry usually goes through), 30%
with ``max_tries`` 1; 18 failures in 20 tries at such a share happen about once in 30 million windows. A vendor that is
down fails every try and opens the breaker after ``breaker_min_tries`` of them: a few seconds at
most, however large the backlog and whatever ``max_tries`` is.

Open is final for the run: the engine leaves every document not answered yet untouched, unsent,
for the next run (which is the half-open probe of a classic breaker: its first check and its
first tries decide again).

Why not a library: pybreaker, aiobreaker and purgatory (the asyncio-ready ones on PyPI) all open on
a count of *consecutive* failures, reset by any success; none keeps a rate over a window, purgatory
reads the wall clock, and pybreaker's async path needs tornado. What is ours here is small: which
outcomes count, and what opening means for a run.
"""

from __future__ import annotations

import enum
import logging
from collections import deque
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


class BreakerState(enum.Enum):
    CLOSED = "closed"  # sending
    OPEN = "open"  # the vendor is taken to be down: terminal for the run

    @property
    def terminal(self) -> bool:
        return self is BreakerState.OPEN


@dataclass
class OutageBreaker:
    window: int = 40  # tries looked at
    min_tries: int = 20  # fewer cannot tell an outage from bad luck
    failure_rate: float = 0.9  # failed share of the window that opens the breaker
    state: BreakerState = BreakerState.CLOSED
    _outcomes: deque[bool] = field(init=False, repr=False)  # True: failed
    _failed: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if not 1 <= self.min_tries <= self.window:
            raise ValueError(f"breaker_min_tries must be between 1 and breaker_window ({self.window}), "
                             f"got {self.min_tries}")
        if not 0 < self.failure_rate <= 1:
            raise ValueError(f"breaker_failure_rate must be above 0 and at most 1, got {self.failure_rate}")
        self._outcomes = deque(maxlen=self.window)

    @property
    def is_open(self) -> bool:
        return self.state is BreakerState.OPEN

    @property
    def failed_share(self) -> float:
        return self._failed / len(self._outcomes) if self._outcomes else 0.0

    def describe(self) -> str:
        return f"{self._failed} of the last {len(self._outcomes)} tries failed"

    def answered(self) -> None:
        """A try got an answer: the vendor is there."""
        self._count(False)

    def failed(self) -> bool:
        """A try got no answer, or a 5xx; True when this opened the breaker."""
        if self.is_open:
            return False
        self._count(True)
        if len(self._outcomes) >= self.min_tries and self.failed_share >= self.failure_rate:
            self.state = BreakerState.OPEN
            return True
        return False

    def _count(self, failed: bool) -> None:
        if len(self._outcomes) == self.window:
            self._failed -= self._outcomes[0]
        self._outcomes.append(failed)
        self._failed += failed
