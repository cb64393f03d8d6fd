"""GEP batches: one entry per key, and halving a batch GEP refuses as a whole.

GEP publishes no batch limit. When it refuses a whole batch (an error naming no key of the
batch, or a 4xx without per-key answers), the batch is split in halves until every key gets
its own answer. The size that worked is kept for the rest of the run, so later batches do not
meet the same refusal. A key GEP still refuses at batch level when sent alone cannot be
delivered: it gets a REJECTED verdict naming the refusal (DEFERRED, untouched, when the
refusal was a bare 4xx without GEP's lists), and ``BatchSize.undeliverable`` counts it so
the load step can fail visibly.

Nothing here knows how a batch is sent: ``adeliver`` takes the send coroutine. The engine's
senders share one BatchSize on the event loop; its methods never await, so need no lock.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace

from erp_outbound.core.verdict import Outcome, Verdict

log = logging.getLogger(__name__)


class BatchRefused(Exception):
    """GEP refused the batch as a whole: no key of it got an answer of its own.

    ``in_gep_words``: GEP answered in its own format (an error naming no key); otherwise the
    refusal was a bare 4xx (a gateway, a proxy) that says nothing about the keys.
    """

    def __init__(self, reason: str, status: int | None = None, in_gep_words: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.in_gep_words = in_gep_words


class BatchSize:
    """The most keys per request for this run: halved by each batch-level refusal, never raised."""

    def __init__(self, limit: int) -> None:
        self.limit = max(1, int(limit))
        self.refusals = 0
        self.undeliverable = 0
        self._lowered = False  # the next batch that works is logged as the run's size

    def parts(self, docs: list[dict]) -> list[list[dict]]:
        size = self.limit
        return [docs[i:i + size] for i in range(0, len(docs), size)]

    def refused(self, part: list[dict], error: BatchRefused) -> list[list[dict]] | None:
        """The halves to send instead of a refused part; None when it was a single key."""
        self.refusals += 1
        if len(part) == 1:
            self.undeliverable += 1
            return None
        half = -(-len(part) // 2)
        if half < self.limit:
            self.limit, self._lowered = half, True
            log.warning("GEP refused a batch of %d keys as a whole (%s): sending at most %d keys per "
                        "request for the rest of this run", len(part), error.reason, half)
        return [part[:half], part[half:]]

    def worked(self, part: list[dict]) -> None:
        if self._lowered and len(part) >= self.limit:
            self._lowered = False
            log.warning("GEP took a batch of %d keys: the batch size for the rest of this run", len(part))


def undeliverable(doc: dict, error: BatchRefused) -> Verdict:
    """GEP's own refusal of the key alone counts an attempt; a bare 4xx leaves the row untouched."""
    outcome = Outcome.REJECTED if error.in_gep_words else Outcome.DEFERRED
    return Verdict(vendor="gep", doc_type=doc["doc_type"], document_id=doc["document_id"], identifier=doc["identifier"],
                   outcome=outcome,
                   message=f"GEP refused the request as a whole even with this key alone: {error.reason}",
                   http_status=error.status, attempts_before=doc.get("attempts", 0))


def one_entry_per_key(docs: list[dict]) -> tuple[list[dict], dict[str, list[dict]]]:
    """The first document of each key, and the later documents with a key already taken.

    Two ERP rows with one order number are one acknowledgement to GEP: the first row's entry
    is sent once, and every row of the key gets GEP's verdict for it (``with_followers``).
    """
    firsts: dict[str, dict] = {}
    followers: dict[str, list[dict]] = {}
    for doc in docs:
        if doc["identifier"] in firsts:
            followers.setdefault(doc["identifier"], []).append(doc)
        else:
            firsts[doc["identifier"]] = doc
    return list(firsts.values()), followers


def with_followers(verdicts: list[Verdict], followers: dict[str, list[dict]]) -> list[Verdict]:
    """Each key's verdict given to the other rows of the key too."""
    out = list(verdicts)
    for verdict in verdicts:
        for doc in followers.get(verdict.identifier, []):
            out.append(replace(verdict, document_id=doc["document_id"], attempts_before=doc.get("attempts", 0)))
    return out


async def adeliver(docs: list[dict], send: Callable[[list[dict]], Awaitable[list[Verdict]]],
                   size: BatchSize) -> list[Verdict]:
    """Send ``docs`` in parts of the run's size, halving refused parts; one verdict per document.

    A TransientError from ``send`` leaves the whole item to the engine's retry policy.
    """
    firsts, followers = one_entry_per_key(docs)
    verdicts: list[Verdict] = []
    pending = size.parts(firsts)
    while pending:
        part = pending.pop(0)
        try:
            verdicts += await send(part)
        except BatchRefused as error:
            halves = size.refused(part, error)
            if halves is None:
                verdicts.append(undeliverable(part[0], error))
            else:
                pending[:0] = halves
        else:
            size.worked(part)
    return with_followers(verdicts, followers)
