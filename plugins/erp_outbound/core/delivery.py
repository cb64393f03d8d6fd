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
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
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
        retrying = Retrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.settings.max_tries),
            wait=wait_retry_after(self.settings.backoff_initial, self.settings.max_retry_wait),
            before_sleep=self._before_sleep,
            reraise=True,
        )
        try:
            verdict = retrying(self._attempt, item)
        except TransientError as error:
            verdict = self.defer(item, error)
            with self._lock:
                self.stats.deferred += 1
                key = error.reason.split(":")[0]
                self.stats.transient_reasons[key] = self.stats.transient_reasons.get(key, 0) + 1
        else:
            with self._lock:
                self.stats.answered += 1
        self.on_verdict(verdict)
        return verdict

    def run(self, items: Iterable[Item], total: int) -> DeliveryStats:
        """Deliver every item; returns the statistics. Raises ConnectionConfigError at once."""
        self.stats.total = total
        progress = Progress(total, self.label, every=self.progress_every)
        started = time.perf_counter()
        window = self.settings.max_concurrency * 2
        pending: set[Future] = set()
        failure: BaseException | None = None
        with ThreadPoolExecutor(self.settings.max_concurrency, thread_name_prefix="deliver") as pool:
            for item in items:
                if failure:
                    break
                pending.add(pool.submit(self._deliver_one, item))
                if len(pending) >= window:
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    failure = self._collect(done, progress) or failure
            while pending and not failure:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                failure = self._collect(done, progress) or failure
            if failure:
                self._stop.set()
                for future in pending:
                    future.cancel()
        for session in self._sessions:
            session.close()
        self.stats.seconds = time.perf_counter() - started
        self.stats.lowest_concurrency = self.limit.lowest
        progress.finish()
        if failure:
            raise failure
        return self.stats

    def _collect(self, done: set[Future], progress: Progress) -> BaseException | None:
        failure = None
        for future in done:
            error = future.exception()
            if error is None:
                progress.advance()
            elif isinstance(error, _Stopped):
                continue
            elif failure is None:  # ConnectionConfigError, or a bug: stop sending
                failure = error
        return failure


class _Stopped(Exception):
    """Raised in sender threads once the delivery was stopped."""
