"""The delivery loop: every document gets exactly one verdict, limits are respected."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from erp_outbound.core.delivery import Delivery, wait_retry_after
from erp_outbound.core.delivery_settings import DeliverySettings
from erp_outbound.core.http import ConnectionConfigError, TransientError
from erp_outbound.core.verdict import Outcome, Verdict


def verdict(item, outcome=Outcome.DELIVERED, message=None) -> Verdict:
    return Verdict("test", "ORDER", str(item), f"DOC-{item}", outcome, message=message)


class FakeVendor:
    """Answers per item from a script: a list of exceptions to raise before succeeding.

    With ``together=n`` the first n requests wait for each other: n in flight at once by construction
    (and a loop that never has n in flight fails with BrokenBarrierError instead of passing by luck).
    """

    def __init__(self, script=None, delay=0.0, together=0):
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.delay = delay
        self.calls: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        self.together = together
        self.meeting = threading.Barrier(together, timeout=30) if together else None

    def send(self, session, item, timeout):
        with self.lock:
            self.calls.append(item)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            meets = len(self.calls) <= self.together
        try:
            if meets:
                self.meeting.wait()
            time.sleep(self.delay)
            with self.lock:
                planned = self.script.get(item)
                error = planned.pop(0) if planned else None
            if error:
                raise error
            return verdict(item)
        finally:
            with self.lock:
                self.in_flight -= 1


def deliver(vendor, items, **settings):
    results: list[Verdict] = []
    lock = threading.Lock()

    def record(v):
        with lock:
            results.append(v)

    delivery = Delivery(
        DeliverySettings(**({"backoff_initial": 0.001, "max_retry_wait": 0.05} | settings)),
        requests.Session,
        vendor.send,
        lambda item, error: verdict(item, Outcome.DEFERRED, error.reason),
        record,
    )
    stats = delivery.run(iter(items), len(items))
    return results, stats, delivery


def test_every_document_gets_exactly_one_verdict_under_concurrency():
    vendor = FakeVendor(delay=0.002, together=8)
    results, stats, _ = deliver(vendor, list(range(300)), max_concurrency=8)
    assert sorted(int(v.document_id) for v in results) == list(range(300))
    assert stats.answered == 300 and stats.deferred == 0
    assert vendor.max_in_flight == 8


def test_transient_failures_are_retried_then_succeed():
    vendor = FakeVendor({3: [TransientError("vendor error 503", status=503)] * 2})
    results, stats, _ = deliver(vendor, list(range(10)), max_tries=3)
    assert all(v.outcome is Outcome.DELIVERED for v in results)
    assert vendor.calls.count(3) == 3
    assert stats.retries == 2


def test_documents_still_failing_after_max_tries_are_deferred():
    vendor = FakeVendor({5: [TransientError("timeout after 1s")] * 10})
    results, stats, _ = deliver(vendor, list(range(10)), max_tries=4)
    deferred = [v for v in results if v.outcome is Outcome.DEFERRED]
    assert [v.document_id for v in deferred] == ["5"]
    assert deferred[0].message == "timeout after 1s"
    assert vendor.calls.count(5) == 4
    assert stats.deferred == 1 and stats.answered == 9


def test_429_halves_concurrency_and_it_recovers():
    errors = {i: [TransientError("rate limited (429)", retry_after=0.0, status=429)] for i in range(0, 40, 4)}
    vendor = FakeVendor(errors, delay=0.001)
    results, stats, delivery = deliver(vendor, list(range(200)), max_concurrency=8, max_tries=3)
    assert len(results) == 200 and stats.deferred == 0
    assert stats.throttled == 10
    assert delivery.limit.lowest < 8  # shrank on 429
    assert delivery.limit.limit > delivery.limit.lowest  # and grew back on successes


def test_wait_honours_retry_after_and_caps_it():
    class State:
        def __init__(self, error):
            self.outcome = type("O", (), {"exception": lambda _self: error})()
            self.attempt_number = 1

    wait = wait_retry_after(initial=0.5, maximum=10)
    assert wait(State(TransientError("429", retry_after=7, status=429))) == 7
    assert wait(State(TransientError("429", retry_after=120, status=429))) == 10
    assert 0 <= wait(State(TransientError("503", status=503))) <= 10


class RefusingVendor(FakeVendor):
    """Refuses document 0 at once; every other request is answered only after the sender that got
    the refusal has finished (it stops the run): no race between that sender and the others."""

    def __init__(self):
        super().__init__({0: [ConnectionConfigError("refused: check the token")]})
        self.refused = threading.Event()
        self.refusing_sender: threading.Thread | None = None

    def send(self, session, item, timeout):
        if item == 0:
            self.refusing_sender = threading.current_thread()
            self.refused.set()
        else:
            assert self.refused.wait(30), "document 0 was never sent"
            self.refusing_sender.join(30)
        return super().send(session, item, timeout)


def test_a_refused_connection_stops_all_sending():
    vendor = RefusingVendor()
    with pytest.raises(ConnectionConfigError, match="check the token"):
        deliver(vendor, list(range(1000)), max_concurrency=4)
    # Stopped at once: the other three senders finished the document each had, and took no other.
    assert len(vendor.calls) <= 4 and set(vendor.calls) <= {0, 1, 2, 3}, vendor.calls


def test_rate_limit_spaces_request_starts():
    vendor = FakeVendor()
    started = time.monotonic()
    deliver(vendor, list(range(11)), max_concurrency=4, max_requests_per_second=100)
    # 11 starts at 100/s need at least 0.1 s; this is a limit check, not a speed measurement.
    assert time.monotonic() - started >= 0.09


class ShuffledVendor(FakeVendor):
    """Answers come back in a different order than requests went out."""

    def send(self, session, item, timeout):
        self.delay = 0.001 * ((item * 7919) % 13)
        return super().send(session, item, timeout)


def test_each_verdict_belongs_to_its_document_whatever_order_answers_arrive():
    vendor = ShuffledVendor()
    results, stats, _ = deliver(vendor, list(range(400)), max_concurrency=16)
    answered_in = [int(v.document_id) for v in results]
    assert answered_in != sorted(answered_in)  # the answers really did arrive out of order
    assert sorted(answered_in) == list(range(400))
    assert all(v.identifier == f"DOC-{v.document_id}" for v in results)
    assert stats.answered == 400 and stats.requests == 400


def test_no_answer_is_lost_when_a_sender_stops_the_run():
    # A configuration error in one sender stops the others; every request that was
    # answered still gets its verdict recorded.
    vendor = FakeVendor({50: [ConnectionConfigError("bad token")]}, delay=0.002)
    results: list[Verdict] = []
    lock = threading.Lock()

    def record(v):
        with lock:
            results.append(v)

    delivery = Delivery(DeliverySettings(max_concurrency=8), requests.Session, vendor.send,
                        lambda item, error: verdict(item, Outcome.DEFERRED), record)
    with pytest.raises(ConnectionConfigError):
        delivery.run(iter(range(1000)), 1000)
    answered = {int(v.document_id) for v in results}
    assert answered == set(vendor.calls) - {50}


def test_a_failing_document_source_stops_the_run_with_its_error():
    def documents():
        yield from range(20)
        raise RuntimeError("the staged batch cannot be read")

    vendor = FakeVendor()
    delivery = Delivery(DeliverySettings(max_concurrency=4), requests.Session, vendor.send,
                        lambda item, error: verdict(item, Outcome.DEFERRED), lambda v: None)
    with pytest.raises(RuntimeError, match="cannot be read"):
        delivery.run(documents(), 40)
    assert sorted(vendor.calls) == list(range(20))


def test_concurrency_never_exceeds_the_connection_limit():
    vendor = FakeVendor(delay=0.003, together=5)
    deliver(vendor, list(range(200)), max_concurrency=5)
    assert vendor.max_in_flight == 5
