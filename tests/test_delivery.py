"""The delivery engine: one verdict per document, retries parked off the senders, stops, limits.

Interleavings are built, not timed: barriers and events make the order certain.
"""

from __future__ import annotations

import asyncio

import pytest

from erp_outbound.core import delivery as delivery_module
from erp_outbound.core.delivery import WINDOW_PER_SENDER, Delivery
from erp_outbound.core.delivery_settings import DeliverySettings
from erp_outbound.core.http import ConnectionConfigError, TransientError
from erp_outbound.core.retry import RetryPolicy
from erp_outbound.core.verdict import Outcome, Verdict


def verdict(item, outcome=Outcome.DELIVERED, message=None) -> Verdict:
    return Verdict(vendor="test", doc_type="ORDER", document_id=str(item), identifier=f"DOC-{item}", outcome=outcome,
                   message=message)


class Vendor:
    """Answers per item from a script of exceptions to raise before succeeding; answers out of order.

    With ``together=n`` the first n requests wait for each other: n in flight at once by construction.
    """

    def __init__(self, script=None, together=0):
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.calls: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.together = together
        self.meeting = asyncio.Barrier(together) if together else None

    async def send(self, item):
        self.calls.append(item)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if len(self.calls) <= self.together:
                await asyncio.wait_for(self.meeting.wait(), 30)
            for _ in range((item * 7919) % 5):  # answers come back out of order
                await asyncio.sleep(0)
            planned = self.script.get(item)
            if planned:
                raise planned.pop(0)
            return verdict(item)
        finally:
            self.in_flight -= 1


def deliver(send, items, record=None, **settings):
    results: list[Verdict] = []
    delivery = Delivery(
        DeliverySettings(**({"backoff_initial": 0.001, "max_retry_wait": 0.01} | settings)), send,
        lambda item, error: verdict(item, Outcome.DEFERRED, error.reason), record or results.append,
    )
    stats = delivery.run(iter(items), len(items))
    return results, stats


def test_each_document_gets_exactly_its_own_verdict():
    vendor = Vendor(together=8)
    results, stats = deliver(vendor.send, list(range(300)), max_concurrency=8)
    answered_in = [int(v.document_id) for v in results]
    assert answered_in != sorted(answered_in) and sorted(answered_in) == list(range(300))
    assert all(v.identifier == f"DOC-{v.document_id}" for v in results)
    assert stats.answered == 300 and stats.requests == 300
    assert vendor.max_in_flight == 8  # the barrier needs 8 at once; the senders never allow more


def test_transient_failures_are_retried_then_deferred_after_max_tries():
    vendor = Vendor({3: [TransientError("vendor error 503", status=503)] * 2,
                     5: [TransientError("timeout after 1s")] * 10})
    results, stats = deliver(vendor.send, list(range(10)), max_tries=4)
    by_id = {v.document_id: v for v in results}
    assert len(results) == 10
    assert by_id["3"].outcome is Outcome.DELIVERED and vendor.calls.count(3) == 3
    assert by_id["5"].outcome is Outcome.DEFERRED and by_id["5"].message == "timeout after 1s"
    assert vendor.calls.count(5) == 4  # max_tries in all, the first one included
    assert stats.answered == 9 and stats.deferred == 1 and stats.retries == 2 + 3


def test_one_try_means_no_retry():
    vendor = Vendor({1: [TransientError("vendor error 502", status=502)]})
    results, stats = deliver(vendor.send, [1, 2], max_tries=1)
    assert vendor.calls.count(1) == 1 and stats.deferred == 1 and stats.retries == 0


def test_a_retrying_document_waits_without_a_sender(monkeypatch):
    # One sender. Document 0 is told to come back (Retry-After 0): it joins the back of the queue, so the
    # sender goes on with 1..9 first. A loop that retried in place would send 0 twice in a row.
    # The ten documents are read in one trip, so all are queued before 0 comes back (by construction).
    monkeypatch.setattr(delivery_module, "FIRST_CHUNK", 10)
    vendor = Vendor({0: [TransientError("rate limited (429)", retry_after=0.0, status=429)]})
    results, stats = deliver(vendor.send, list(range(10)), max_concurrency=1)
    assert vendor.calls == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0]
    assert stats.throttled == 1 and stats.answered == 10


def test_one_slow_document_never_holds_up_the_others():
    # Document 0 is answered only once every other document is done: with 2 senders the run can only
    # end if the other sender carries all the rest while 0 waits.
    others_done = asyncio.Event()
    finished: set[int] = set()

    async def send(item):
        if item == 0:
            await asyncio.wait_for(others_done.wait(), 30)
        return verdict(item)

    def record(v):
        finished.add(int(v.document_id))
        if finished >= set(range(1, 50)):
            others_done.set()

    results, stats = deliver(send, list(range(50)), record=record, max_concurrency=2)
    assert finished == set(range(50)) and stats.answered == 50


def test_the_wait_is_what_the_policy_says():
    # Each retry of document 0 is sent no sooner than its Retry-After (event-loop clock).
    sent_at: list[float] = []

    async def send(item):
        sent_at.append(asyncio.get_running_loop().time())
        if len(sent_at) < 3:
            raise TransientError("rate limited (429)", retry_after=0.2, status=429)
        return verdict(item)

    results, stats = deliver(send, [0], max_retry_wait=5)
    assert [v.outcome for v in results] == [Outcome.DELIVERED]
    assert sent_at[1] - sent_at[0] >= 0.2 and sent_at[2] - sent_at[1] >= 0.2


def test_policy_waits_retry_after_capped_else_backs_off():
    policy = RetryPolicy(DeliverySettings(backoff_initial=0.5, max_retry_wait=10))
    assert policy.wait_after(1, TransientError("429", retry_after=7, status=429)) == 7
    assert policy.wait_after(1, TransientError("429", retry_after=120, status=429)) == 10
    assert 0 <= policy.wait_after(3, TransientError("503", status=503)) <= 10
    assert not policy.gives_up(4) and policy.gives_up(5)


def test_a_refused_connection_stops_all_sending_and_keeps_every_answer():
    vendor = Vendor({40: [ConnectionConfigError("refused: check the token")]})
    results: list[Verdict] = []
    with pytest.raises(ConnectionConfigError, match="check the token"):
        deliver(vendor.send, list(range(1000)), record=results.append, max_concurrency=4)
    assert len(vendor.calls) < 100
    assert {int(v.document_id) for v in results} == set(vendor.calls) - {40}


def test_a_failing_document_source_stops_the_run_with_its_error():
    def documents():
        yield from range(20)
        raise RuntimeError("the staged batch cannot be read")

    vendor = Vendor()
    delivery = Delivery(DeliverySettings(max_concurrency=4), vendor.send,
                        lambda item, error: verdict(item, Outcome.DEFERRED), lambda v: None)
    with pytest.raises(RuntimeError, match="cannot be read"):
        delivery.run(documents(), 40)
    assert set(vendor.calls) <= set(range(20))


def test_a_failing_journal_stops_the_run():
    def record(v):
        raise RuntimeError("the verdict journal failed")

    with pytest.raises(RuntimeError, match="journal failed"):
        deliver(Vendor().send, list(range(100)), record=record)


def test_after_an_outage_the_rest_is_left_unsent():
    # The first check failed: once a document fails every try, the others are deferred without a request.
    async def send(item):
        raise TransientError("connection failed: ClientConnectorError")

    sent: list[int] = []

    async def counting(item):
        sent.append(item)
        return await send(item)

    results: list[Verdict] = []
    delivery = Delivery(DeliverySettings(max_concurrency=1, max_tries=2, backoff_initial=0.001, max_retry_wait=0.01),
                        counting, lambda item, error: verdict(item, Outcome.DEFERRED, error.reason), results.append,
                        outage_ends_sending=True)
    stats = delivery.run(iter(range(50)), 50)
    assert len(results) == 50 and all(v.outcome is Outcome.DEFERRED for v in results)
    # Only what was read ahead before the first deferral was ever sent.
    assert stats.deferred == 50 and max(sent) <= WINDOW_PER_SENDER


def test_nothing_to_send_ends_at_once():
    results, stats = deliver(Vendor().send, [])
    assert results == [] and stats.answered == 0
