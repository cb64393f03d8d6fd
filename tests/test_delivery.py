"""The delivery engine: one verdict per document, retries parked off the senders, stops, limits.

Interleavings are built, not timed: barriers and events make the order certain.
"""

from __future__ import annotations

import asyncio

import pytest

from erp_outbound.core import delivery as delivery_module
from erp_outbound.core.breaker import BreakerState
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
    # Every try fails: once breaker_min_tries tries failed, the others are deferred without a request.
    sent: list[int] = []

    async def send(item):
        sent.append(item)
        raise TransientError("connection failed: ClientConnectorError")

    results: list[Verdict] = []
    delivery = Delivery(DeliverySettings(max_concurrency=1, max_tries=2, backoff_initial=0.001, max_retry_wait=0.01),
                        send, lambda item, error: verdict(item, Outcome.DEFERRED, error.reason), results.append)
    stats = delivery.run(iter(range(500)), 500)
    assert len(results) == 500 and all(v.outcome is Outcome.DEFERRED for v in results)
    assert len(sent) == 20  # breaker_min_tries: one sender, so not one try more
    assert stats.breaker == "open" and stats.unsent >= 500 - 20
    unsent = [v for v in results if int(v.document_id) not in sent]
    assert unsent and all(v.message.startswith("left for the next run: the vendor looked down (20 of the last 20 "
                                               "tries failed; the last: connection failed") for v in unsent)


def test_an_outage_stops_every_sender_at_once():
    # 64 senders, a vendor that fails everything: what is in flight when the breaker opens ends, nothing
    # more is sent, however many tries a document would still have.
    sent: list[int] = []

    async def send(item):
        sent.append(item)
        await asyncio.sleep(0)
        raise TransientError("vendor error 503", status=503)

    results, stats = deliver(send, list(range(5000)), max_concurrency=64, max_tries=10)
    assert len(results) == 5000 and stats.breaker == "open"
    assert len(sent) < 20 + 64 and stats.unsent > 4800


@pytest.mark.parametrize("max_tries", [1, 2, 5])
def test_random_faults_never_end_a_run_early(max_tries):
    # A third of the documents fail their first try (every try, with max_tries 1), in a fixed pattern
    # that puts two failures in a row now and then: the vendor is up, every document gets its tries.
    failing = {n for n in range(3000) if (n * 7919) % 3 == 0}
    vendor = Vendor({n: [TransientError("vendor error 500", status=500)] for n in failing})
    results, stats = deliver(vendor.send, list(range(3000)), max_concurrency=16, max_tries=max_tries)
    assert stats.breaker == "closed" and stats.unsent == 0
    assert sorted(set(vendor.calls)) == list(range(3000))  # every document was sent
    expected_deferred = len(failing) if max_tries == 1 else 0
    assert stats.deferred == expected_deferred and stats.answered == 3000 - expected_deferred


@pytest.mark.parametrize("error, counts", [
    (TransientError("connection failed: ClientConnectorError"), True),
    (TransientError("timeout after 30s"), True),
    (TransientError("vendor error 503: Service Unavailable", status=503), True),
    (TransientError("rate limited (429)", retry_after=1, status=429), False),
    (TransientError("request timeout (408)", status=408), False),
    (TransientError("unreadable answer: HTTP 200 ''", status=200), False),
])
def test_an_outage_is_no_answer_or_a_5xx(error, counts):
    assert delivery_module.outage_sign(error) is counts


def test_429s_are_not_an_outage():
    # A vendor that throttles everything is up: every document gets every try, none is left unsent.
    vendor = Vendor({n: [TransientError("rate limited (429)", retry_after=0.0, status=429)] for n in range(100)})
    results, stats = deliver(vendor.send, list(range(100)), max_concurrency=4, max_tries=1)
    assert stats.breaker == "closed" and stats.deferred == 100 and stats.unsent == 0 and len(vendor.calls) == 100


def test_new_documents_go_before_due_retries(monkeypatch):
    # One sender. Document 0 fails and is due again at once; document 1 is answered only once the feed has
    # read all twenty (so the retry and the new documents wait side by side). The new ones go first: the
    # waits of the last documents' retries then overlap other sends instead of trailing after them.
    monkeypatch.setattr(delivery_module, "FIRST_CHUNK", 2)  # 2..19 arrive in later trips of the feed
    calls: list[int] = []
    failed_once: set[int] = set()
    holder: dict[str, Delivery] = {}

    async def send(item):
        calls.append(item)
        if item == 0 and item not in failed_once:
            failed_once.add(item)
            raise TransientError("vendor error 503", status=503)
        if item == 1:
            delivery = holder["delivery"]
            while len(delivery._new) + len(delivery._due) < 19:  # 2..19 and the retry of 0, queued
                await asyncio.sleep(0.001)
        return verdict(item)

    delivery = Delivery(DeliverySettings(max_concurrency=1, backoff_initial=0.0, max_retry_wait=0), send,
                        lambda item, error: verdict(item, Outcome.DEFERRED, error.reason), lambda v: None)
    holder["delivery"] = delivery
    stats = delivery.run(iter(range(20)), 20)
    assert calls == list(range(20)) + [0]
    assert stats.answered == 20 and stats.retries == 1


def test_a_retry_out_of_patience_goes_before_new_documents(monkeypatch):
    # Retries let new documents go first only for RETRY_PATIENCE seconds (a claim's lease, a document's
    # latency): with no patience at all, the retry of 0 goes as soon as it is due, before 2..19.
    monkeypatch.setattr(delivery_module, "FIRST_CHUNK", 20)
    monkeypatch.setattr(delivery_module, "RETRY_PATIENCE", -1.0)
    vendor = Vendor({0: [TransientError("vendor error 503", status=503)]})
    results, stats = deliver(vendor.send, list(range(20)), max_concurrency=1, backoff_initial=0.0, max_retry_wait=0)
    assert vendor.calls == [0, 1, 0, *range(2, 20)]


def test_breaker_settings_come_from_the_connection_and_are_checked():
    settings = DeliverySettings.from_extras({"breaker_window": "100", "breaker_min_tries": "50",
                                             "breaker_failure_rate": "0.8"})
    breaker = settings.breaker()
    assert (breaker.window, breaker.min_tries, breaker.failure_rate) == (100, 50, 0.8)
    with pytest.raises(ValueError, match="breaker_min_tries must be between 1 and breaker_window \\(40\\), got 50"):
        DeliverySettings.from_extras({"breaker_min_tries": 50})
    with pytest.raises(ValueError, match="breaker_failure_rate must be above 0 and at most 1, got 1.5"):
        DeliverySettings.from_extras({"breaker_failure_rate": 1.5})


def test_the_breaker_looks_at_a_sliding_window_of_tries():
    breaker = DeliverySettings(breaker_window=10, breaker_min_tries=5, breaker_failure_rate=0.9).breaker()
    assert not any(breaker.failed() for _ in range(4))  # all failed, but fewer than breaker_min_tries
    breaker = DeliverySettings(breaker_window=10, breaker_min_tries=5, breaker_failure_rate=0.9).breaker()
    for _ in range(5):
        breaker.answered()
    assert not any(breaker.failed() for _ in range(8))  # 8 of the last 10
    assert breaker.state is BreakerState.CLOSED
    assert breaker.failed()  # 9 of the last 10: the oldest answers slid out of the window
    assert breaker.state is BreakerState.OPEN and breaker.state.terminal
    breaker.answered()
    assert breaker.state is BreakerState.OPEN  # open is final for the run


def test_nothing_to_send_ends_at_once():
    results, stats = deliver(Vendor().send, [])
    assert results == [] and stats.answered == 0
