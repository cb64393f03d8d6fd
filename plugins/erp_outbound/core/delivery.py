"""The delivery loop: send many documents with bounded concurrency, retries and backoff.

Each document is sent by a vendor's ``send_one``, which returns its verdict or raises
TransientError (429, 5xx, timeout, unreadable answer). Transient failures are retried
with tenacity, waiting what Retry-After asks or backing off exponentially; a 429 also
halves the number of requests in flight until the vendor recovers. A document that
still fails is handed to ``defer``: its verdict leaves it untouched in the ERP.
ConnectionConfigError (bad token, bad URL) stops everything at once.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_base, wait_exponential_jitter

from erp_outbound.core.delivery_settings import DeliverySettings
from erp_outbound.core.http import TransientError
from erp_outbound.core.progress import Progress
from erp_outbound.core.throttle import AdaptiveLimit, Pause, RateLimit
from erp_outbound.core.verdict import Verdict

Item = TypeVar("Item")
log = logging.getLogger(__name__)


class wait_retry_after(wait_base):
    """Wait what the vendor's Retry-After says; otherwise back off exponentially with jitter."""

    def __init__(self, initial: float, maximum: float):
        self.maximum = maximum
        self.backoff = wait_exponential_jitter(initial=initial, max=maximum)

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        if isinstance(error, TransientError) and error.retry_after is not None:
            return min(error.retry_after, self.maximum)
        return self.backoff(retry_state)


@dataclass
class DeliveryStats:
    total: int = 0
    answered: int = 0  # documents with a vendor verdict
    deferred: int = 0  # documents left untouched after transient failures
    requests: int = 0
    retries: int = 0
    throttled: int = 0  # 429 answers
    lowest_concurrency: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)
    transient_reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "latencies"}


class Delivery(Generic[Item]):
    def __init__(
        self,
        settings: DeliverySettings,
        make_session: Callable[[], requests.Session],
        send_one: Callable[[requests.Session, Item, float], Verdict],
        defer: Callable[[Item, TransientError], Verdict],
        on_verdict: Callable[[Verdict], None],
        label: str = "documents",
        progress_every: float = 10.0,
    ):
        self.settings = settings
        self.make_session = make_session
        self.send_one = send_one
        self.defer = defer
        self.on_verdict = on_verdict
        self.label = label
        self.progress_every = progress_every
        self.limit = AdaptiveLimit(settings.max_concurrency)
        self.rate = RateLimit(settings.max_requests_per_second)
        self.pause = Pause()
        self.stats = DeliveryStats(lowest_concurrency=settings.max_concurrency)
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        # One Retrying for every sender thread: tenacity keeps each call's state thread-local.
        self._retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(settings.max_tries),
            wait=wait_retry_after(settings.backoff_initial, settings.max_retry_wait),
            before_sleep=self._before_sleep,
            reraise=True,
        )

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = self.make_session()
            with self._lock:
                self._sessions.append(session)
        return session

    def _attempt(self, item: Item) -> Verdict:
        if self._stop.is_set():
            raise _Stopped()
        self.pause.wait()
        self.rate.wait()
        with self.limit:
            started = time.perf_counter()
            try:
                verdict = self.send_one(self._session(), item, self.settings.timeout)
            finally:
                with self._lock:
                    self.stats.requests += 1
                    self.stats.latencies.append(time.perf_counter() - started)
        self.limit.succeeded()
        return verdict

    def _before_sleep(self, retry_state: RetryCallState) -> None:
        error = retry_state.outcome.exception()
        with self._lock:
            self.stats.retries += 1
        if isinstance(error, TransientError):
            if error.status == 429:
                with self._lock:
                    self.stats.throttled += 1
                self.limit.throttled()
            if error.retry_after:
                self.pause.extend(min(error.retry_after, self.settings.max_retry_wait))

    def _deliver_one(self, item: Item) -> Verdict:
        try:
            verdict = self._retrying(self._attempt, item)
        except TransientError as error:
            verdict = self._deferred(item, error)
        else:
            with self._lock:
                self.stats.answered += 1
        self.on_verdict(verdict)
        return verdict

    def _deferred(self, item: Item, error: TransientError) -> Verdict:
        """Still failing after every try: the item is left for the next run."""
        with self._lock:
            self.stats.deferred += 1
            key = error.reason.split(":")[0]
            self.stats.transient_reasons[key] = self.stats.transient_reasons.get(key, 0) + 1
        return self.defer(item, error)

    def run(self, items: Iterable[Item], total: int) -> DeliveryStats:
        """Deliver every item; returns the statistics. Raises ConnectionConfigError at once.

        ``max_concurrency`` sender threads take the next item from ``items`` as they get
        free; the adaptive limit decides how many of them may have a request in flight.
        """
        self.stats.total = total
        progress = Progress(total, self.label, every=self.progress_every)
        started = time.perf_counter()
        source = iter(items)
        take = threading.Lock()  # items may come from a generator reading files and the ERP
        failures: list[BaseException] = []

        def sender() -> None:
            try:
                while not self._stop.is_set():
                    with take:
                        item = next(source, _END)
                    if item is _END:
                        return
                    self._deliver_one(item)
                    with self._lock:
                        progress.advance()
            except _Stopped:
                return
            except Exception as error:  # ConnectionConfigError, or a bug: stop every sender
                failures.append(error)
                self._stop.set()

        threads = [threading.Thread(target=sender, name=f"deliver_{n}", daemon=True)
                   for n in range(self.settings.max_concurrency)]
        for thread in threads:
            thread.start()
        try:
            for thread in threads:
                while thread.is_alive():
                    thread.join(0.5)  # short joins keep the task responsive to being stopped
        except BaseException:
            self._stop.set()  # senders finish the request they are in, record it, and stop
            raise
        finally:
            for session in self._sessions:
                session.close()
        return self._finish(started, progress, failures)

    def _finish(self, started: float, progress: Progress, failures: list[BaseException]) -> DeliveryStats:
        """The statistics of a finished delivery; the first failure that stopped it is raised."""
        self.stats.seconds = time.perf_counter() - started
        self.stats.lowest_concurrency = self.limit.lowest
        progress.finish()
        if failures:
            raise failures[0]
        return self.stats


_END = object()


class _Stopped(Exception):
    """Raised in sender threads once the delivery was stopped."""
