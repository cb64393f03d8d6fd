"""The delivery engine: many documents to a vendor over asyncio, none holding up the others.

``max_concurrency`` senders take the next ready document from one queue and send it with
the caller's ``send(item)`` coroutine, which returns the item's result (a load step's:
a ``SendOutcome``) or raises TransientError. A document that failed transiently is parked for what the retry policy
says (Retry-After, else backoff; core/retry.py) and joins the queue again when its wait is
over, so a waiting document never holds a sender. Senders take new documents before
retries that are due (for up to ``RETRY_PATIENCE`` seconds): retries gather behind the new
documents, so at the end of a run the last documents' waits (a Retry-After of a second)
pass while those retries are sent, instead of trailing after everything else. A document
still failing after ``max_tries`` is handed to ``defer``: its verdict leaves it untouched in
the ERP (a load step's result for it).

Whether the vendor is down is the outage breaker's call (core/breaker.py): a failure rate
over the last tries, never one unlucky document. Once it opens, nothing more is sent: every
document not answered yet is handed to ``defer`` unsent. ConnectionConfigError, a failing
source or a failing ``on_verdict`` stops everything; every answer already received keeps
its verdict.

A load step's items are ``Request`` objects: what a vendor learns about a document between
its tries lives there. Items come from a synchronous iterable (staged files, claims in the
ERP): it is read in chunks in a worker thread, so ERP reads never block the event loop, and at most
``WINDOW_PER_SENDER`` items per sender are read ahead or parked at once.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from erp_outbound.core.breaker import OutageBreaker
from erp_outbound.core.delivery_settings import DeliverySettings
from erp_outbound.core.http import TransientError
from erp_outbound.core.progress import Progress
from erp_outbound.core.retry import RetryPolicy
from erp_outbound.core.verdict import Verdict

Item = TypeVar("Item")
log = logging.getLogger(__name__)

# Items read ahead or waiting for a retry, per sender. Retries wait behind new items, so at the end of a
# run up to this many are left to send: at 64 a sender, over a second of work at the bench's speeds, enough
# to hide the last Retry-After of 1 s behind them.
WINDOW_PER_SENDER = 64
READ_CHUNK = 64  # most items read from the source per trip to the worker thread
FIRST_CHUNK = 4  # the first trip: sending starts after a few items, not after a full chunk; then it doubles
RETRY_PATIENCE = 5.0  # seconds a due retry lets new items go first; then it goes before them


@dataclass
class DeliveryStats:
    total: int = 0
    answered: int = 0  # items with a vendor verdict
    deferred: int = 0  # items left untouched after transient failures
    requests: int = 0  # tries
    retries: int = 0  # tries after a transient failure
    throttled: int = 0  # tries answered 429
    parked_most: int = 0  # most items waiting for a retry at once
    unsent: int = 0  # deferred without a request: the outage breaker had opened
    breaker: str = "closed"  # the outage breaker's state at the end
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)
    transient_reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "latencies"}


def outage_sign(error: TransientError) -> bool:
    """Whether a transient failure counts toward an outage: no answer at all (timeout, lost connection, no
    token), or a 5xx. Any other answer (429 included) shows the vendor is there."""
    return error.status is None or error.status >= 500


@dataclass(slots=True, eq=False)
class Request:
    """One request of a load step, as the engine carries it between tries: the staged documents it
    sends (one, or a batch of ``documents``) and what its tries learnt. A vendor's send step notes
    here what a later try or the deferral must know; the staged rows are never written to."""

    documents: list[dict]
    answer_lost: bool = False  # a try left and its answer was lost: the vendor may have acted on it
    requested: bool = False  # the ERP row says this request went out (written before a request that must not repeat)

    @property
    def document(self) -> dict:
        """The document of a one-document request."""
        if len(self.documents) != 1:
            raise TypeError(f"a request of {len(self.documents)} documents has no single document")
        return self.documents[0]


@dataclass
class _Entry(Generic[Item]):
    item: Item
    tries: int = 0


class Delivery(Generic[Item]):
    def __init__(
        self,
        settings: DeliverySettings,
        send: Callable[[Item], Awaitable[Verdict]],
        defer: Callable[[Item, TransientError], Verdict],
        on_verdict: Callable[[Verdict], None],
        label: str = "documents",
        progress_every: float = 10.0,
        policy: RetryPolicy | None = None,
        breaker: OutageBreaker | None = None,
        on_remaining: Callable[[int], None] | None = None,
    ):
        self.settings = settings
        self.send = send
        self.defer = defer  # may touch the ERP: runs in a worker thread
        self.on_verdict = on_verdict  # must not block (the journal writer queues)
        self.label = label
        self.progress_every = progress_every
        self.policy = policy or RetryPolicy(settings)
        self.breaker = breaker or settings.breaker()
        self.on_remaining = on_remaining  # told how many items are left as each finishes (the client's pace)
        self.stats = DeliveryStats()

    def run(self, items: Iterable[Item], total: int) -> DeliveryStats:
        """Deliver every item from synchronous code; see ``deliver``."""
        return asyncio.run(self.deliver(items, total))

    async def deliver(self, items: Iterable[Item], total: int) -> DeliveryStats:
        """Deliver every item; returns the statistics. Raises the first failure that stopped it."""
        self.stats.total = total
        self._progress = Progress(total, self.label, every=self.progress_every)
        started = time.perf_counter()
        # What senders take: new items first, then retries that are due (each with the loop time it came due).
        self._new: deque[_Entry] = deque()
        self._due: deque[tuple[float, _Entry]] = deque()
        self._queued = asyncio.Semaphore(0)  # one release per queued item, and one per sender at the stop
        self._room = asyncio.Semaphore(WINDOW_PER_SENDER * self.settings.max_concurrency)
        self._open = 0  # items read and not finished
        self._parked: dict[int, tuple[asyncio.TimerHandle, _Entry]] = {}
        self._source_done = False
        self._failures: list[BaseException] = []
        self._stopped = False
        self._outage: TransientError | None = None
        loop = asyncio.get_running_loop()
        senders = [loop.create_task(self._sender()) for _ in range(self.settings.max_concurrency)]
        feeder = loop.create_task(self._feed(iter(items)))
        try:
            await asyncio.gather(*senders)
        finally:
            self._stop()
            feeder.cancel()
            for task in senders:
                task.cancel()
            await asyncio.gather(feeder, *senders, return_exceptions=True)
        self.stats.seconds = time.perf_counter() - started
        self.stats.breaker = self.breaker.state.value
        self._progress.finish()
        if self._failures:
            raise self._failures[0]
        return self.stats

    # -- the feed -------------------------------------------------------------------
    async def _feed(self, source: Iterator[Item]) -> None:
        try:
            size = FIRST_CHUNK
            while not self._stopped:
                chunk = await asyncio.to_thread(lambda: list(itertools.islice(source, size)))
                if not chunk:
                    break
                size = min(READ_CHUNK, 2 * size)
                for item in chunk:
                    await self._room.acquire()
                    if self._stopped:
                        return
                    self._open += 1
                    self._new.append(_Entry(item))
                    self._queued.release()
        except Exception as error:  # the staged files or the ERP: stop with its error
            self._fail(error)
            return
        self._source_done = True
        self._maybe_done()

    def _maybe_done(self) -> None:
        if self._source_done and self._open == 0:
            self._stop()

    def _stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for handle, _ in self._parked.values():
            handle.cancel()  # parked items are left as they are: untouched, like unsent ones
        self._parked.clear()
        for _ in range(self.settings.max_concurrency):
            self._queued.release()  # each sender wakes, sees the stop and ends

    def _retry_now(self, entry: _Entry) -> None:
        self._due.append((asyncio.get_running_loop().time(), entry))
        self._queued.release()

    async def _next(self) -> _Entry | None:
        """The next item to send: a new one, unless no new one is ready or a due retry ran out of patience."""
        await self._queued.acquire()
        if self._stopped:
            return None
        if self._due and (not self._new or asyncio.get_running_loop().time() - self._due[0][0] > RETRY_PATIENCE):
            return self._due.popleft()[1]
        return self._new.popleft()

    def _fail(self, error: BaseException) -> None:
        self._failures.append(error)
        self._stop()

    # -- the senders ----------------------------------------------------------------
    async def _sender(self) -> None:
        while True:
            entry = await self._next()
            if entry is None:
                return
            try:
                if self._outage is not None:
                    self.stats.unsent += entry.tries == 0
                    await self._give_up(entry, self._outage)
                else:
                    await self._try(entry)
            except Exception as error:  # ConnectionConfigError, a failing journal, or a bug
                self._fail(error)
                return

    async def _try(self, entry: _Entry) -> None:
        entry.tries += 1
        self.stats.requests += 1
        if entry.tries > 1:
            self.stats.retries += 1
        started = time.perf_counter()
        try:
            verdict = await self.send(entry.item)
        except TransientError as error:
            self.stats.latencies.append(time.perf_counter() - started)
            self.stats.throttled += error.status == 429
            if not outage_sign(error):
                self.breaker.answered()  # the vendor is there: a 429, a 408, a garbled answer
            elif self.breaker.failed():
                self._open_breaker(error)
            if self.policy.gives_up(entry.tries) or self._stopped or self._outage is not None:
                await self._give_up(entry, error)
            else:
                self._park(entry, self.policy.wait_after(entry.tries, error))
            return
        self.stats.latencies.append(time.perf_counter() - started)
        self.breaker.answered()
        self.stats.answered += 1
        self._finish(verdict)

    def _open_breaker(self, error: TransientError) -> None:
        """The vendor is down: what waits for a retry, and everything not read yet, is left unsent."""
        self._outage = TransientError(f"left for the next run: the vendor looked down ({self.breaker.describe()}; "
                                      f"the last: {error.reason})", error.retry_after, error.status)
        log.warning("%s: %s, the vendor looks down (the last failure: %s); the rest is left for the next run "
                    "unsent", self.label, self.breaker.describe(), error.reason)
        for handle, entry in self._parked.values():
            handle.cancel()
            self._retry_now(entry)  # a sender defers it at once
        self._parked.clear()

    def _park(self, entry: _Entry, seconds: float) -> None:
        """Wait ``seconds`` without a sender, then join the queue again."""
        key = id(entry)

        def due() -> None:
            del self._parked[key]
            self._retry_now(entry)

        self._parked[key] = (asyncio.get_running_loop().call_later(seconds, due), entry)
        self.stats.parked_most = max(self.stats.parked_most, len(self._parked))

    async def _give_up(self, entry: _Entry, error: TransientError) -> None:
        """Still failing after every try, or not sent after the breaker opened: left for the next run."""
        self.stats.deferred += 1
        key = error.reason.split(":")[0]
        self.stats.transient_reasons[key] = self.stats.transient_reasons.get(key, 0) + 1
        self._finish(await asyncio.to_thread(self.defer, entry.item, error))

    def _finish(self, verdict) -> None:
        self.on_verdict(verdict)
        self._progress.advance()
        if self.on_remaining is not None:
            self.on_remaining(self.stats.total - self._progress.done)
        self._open -= 1
        self._room.release()
        self._maybe_done()
