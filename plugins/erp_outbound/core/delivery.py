"""The delivery engine: many documents to a vendor over asyncio, none holding up the others.

``max_concurrency`` senders take the next ready document from one queue and send it with
the caller's ``send(item)`` coroutine, which returns the item's result (a load step's:
a ``SendOutcome``) or raises TransientError. A document that failed transiently is parked for what the retry policy
says (Retry-After, else backoff; core/retry.py) and joins the queue again when its wait is
over, so a waiting document never holds a sender. One that still fails after ``max_tries``
is handed to ``defer``: its result leaves it untouched in the ERP. ConnectionConfigError,
a failing source or a failing ``on_verdict`` stops everything; every answer already
received keeps its verdict.

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
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from erp_outbound.core.delivery_settings import DeliverySettings
from erp_outbound.core.http import TransientError
from erp_outbound.core.progress import Progress
from erp_outbound.core.retry import RetryPolicy
from erp_outbound.core.verdict import Verdict

Item = TypeVar("Item")
log = logging.getLogger(__name__)

WINDOW_PER_SENDER = 32  # items read ahead or parked per sender: room for parked retries
READ_CHUNK = 64  # most items read from the source per trip to the worker thread
FIRST_CHUNK = 4  # the first trip: sending starts after a few items, not after a full chunk; then it doubles


@dataclass
class DeliveryStats:
    total: int = 0
    answered: int = 0  # items with a vendor verdict
    deferred: int = 0  # items left untouched after transient failures
    requests: int = 0  # tries
    retries: int = 0  # tries after a transient failure
    throttled: int = 0  # tries answered 429
    parked_most: int = 0  # most items waiting for a retry at once
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list, repr=False)
    transient_reasons: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "latencies"}


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
        outage_ends_sending: bool = False,
    ):
        self.settings = settings
        self.send = send
        self.defer = defer  # may touch the ERP: runs in a worker thread
        self.on_verdict = on_verdict  # must not block (the journal writer queues)
        self.label = label
        self.progress_every = progress_every
        self.policy = policy or RetryPolicy(settings)
        # After a failed first check: the first item that fails every try means an outage;
        # the rest is left untouched without being sent.
        self.outage_ends_sending = outage_ends_sending
        self.stats = DeliveryStats()

    def run(self, items: Iterable[Item], total: int) -> DeliveryStats:
        """Deliver every item from synchronous code; see ``deliver``."""
        return asyncio.run(self.deliver(items, total))

    async def deliver(self, items: Iterable[Item], total: int) -> DeliveryStats:
        """Deliver every item; returns the statistics. Raises the first failure that stopped it."""
        self.stats.total = total
        self._progress = Progress(total, self.label, every=self.progress_every)
        started = time.perf_counter()
        self._ready: asyncio.Queue[_Entry | None] = asyncio.Queue()
        self._room = asyncio.Semaphore(WINDOW_PER_SENDER * self.settings.max_concurrency)
        self._open = 0  # items read and not finished
        self._parked: dict[int, asyncio.TimerHandle] = {}
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
                    self._ready.put_nowait(_Entry(item))
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
        for handle in self._parked.values():
            handle.cancel()  # parked items are left as they are: untouched, like unsent ones
        self._parked.clear()
        for _ in range(self.settings.max_concurrency):
            self._ready.put_nowait(None)

    def _fail(self, error: BaseException) -> None:
        self._failures.append(error)
        self._stop()

    # -- the senders ----------------------------------------------------------------
    async def _sender(self) -> None:
        while True:
            entry = await self._ready.get()
            if entry is None or self._stopped:
                return
            try:
                if self._outage is not None:
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
            if self.policy.gives_up(entry.tries) or self._stopped:
                await self._give_up(entry, error)
            else:
                self._park(entry, self.policy.wait_after(entry.tries, error))
            return
        self.stats.latencies.append(time.perf_counter() - started)
        self.stats.answered += 1
        self._finish(verdict)

    def _park(self, entry: _Entry, seconds: float) -> None:
        """Wait ``seconds`` without a sender, then join the queue again."""
        key = id(entry)

        def due() -> None:
            del self._parked[key]
            self._ready.put_nowait(entry)

        self._parked[key] = asyncio.get_running_loop().call_later(seconds, due)
        self.stats.parked_most = max(self.stats.parked_most, len(self._parked))

    async def _give_up(self, entry: _Entry, error: TransientError) -> None:
        """Still failing after every try: the item is left for the next run."""
        if self.outage_ends_sending and self._outage is None:
            self._outage = error
            log.warning("%s: still failing after every try (%s); the rest is left for the next run unsent",
                        self.label, error.reason)
        self.stats.deferred += 1
        key = error.reason.split(":")[0]
        self.stats.transient_reasons[key] = self.stats.transient_reasons.get(key, 0) + 1
        self._finish(await asyncio.to_thread(self.defer, entry.item, error))

    def _finish(self, verdict) -> None:
        self.on_verdict(verdict)
        self._progress.advance()
        self._open -= 1
        self._room.release()
        self._maybe_done()
