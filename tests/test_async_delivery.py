"""The asyncio delivery loop keeps the threaded loop's rules: one verdict each, retries, limits, stops."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from erp_outbound.core.async_delivery import AsyncDelivery
from erp_outbound.core.delivery_settings import DeliverySettings
from erp_outbound.core.http import ConnectionConfigError, TransientError
from erp_outbound.core.verdict import Outcome, Verdict


def verdict(item, outcome=Outcome.DELIVERED, message=None) -> Verdict:
    return Verdict("test", "ORDER", str(item), f"DOC-{item}", outcome, message=message)


class AsyncVendor:
    """Answers per item from a script of exceptions to raise before succeeding; answers out of order."""

    def __init__(self, script=None):
        self.script = {k: list(v) for k, v in (script or {}).items()}
        self.calls: list[int] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def send(self, session, item, timeout):
        self.calls.append(item)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(0.001 * ((item * 7919) % 7))
            planned = self.script.get(item)
            if planned:
                raise planned.pop(0)
            return verdict(item)
        finally:
            self.in_flight -= 1


def deliver(vendor, items, **settings):
    results: list[Verdict] = []
    delivery = AsyncDelivery(
        DeliverySettings(**({"backoff_initial": 0.001, "max_retry_wait": 0.05} | settings)),
        contextlib.nullcontext, vendor.send, lambda item, error: verdict(item, Outcome.DEFERRED, error.reason),
        results.append,
    )
    stats = delivery.run(iter(items), len(items))
    return results, stats, delivery


def test_each_document_gets_exactly_its_own_verdict():
    vendor = AsyncVendor()
    results, stats, _ = deliver(vendor, list(range(300)), max_concurrency=8)
    answered_in = [int(v.document_id) for v in results]
    assert answered_in != sorted(answered_in) and sorted(answered_in) == list(range(300))
    assert all(v.identifier == f"DOC-{v.document_id}" for v in results)
    assert stats.answered == 300 and stats.requests == 300
    assert vendor.max_in_flight == 8


def test_transient_failures_are_retried_with_the_same_number_of_tries():
    vendor = AsyncVendor({3: [TransientError("vendor error 503", status=503)] * 2,
                          5: [TransientError("timeout after 1s")] * 10})
    results, stats, _ = deliver(vendor, list(range(10)), max_tries=4)
    by_id = {v.document_id: v for v in results}
    assert by_id["3"].outcome is Outcome.DELIVERED and vendor.calls.count(3) == 3
    assert by_id["5"].outcome is Outcome.DEFERRED and by_id["5"].message == "timeout after 1s"
    assert vendor.calls.count(5) == 4  # max_tries in all, the first one included
    assert stats.answered == 9 and stats.deferred == 1 and stats.retries == 2 + 3


def test_one_try_means_no_retry():
    vendor = AsyncVendor({1: [TransientError("vendor error 502", status=502)]})
    results, stats, _ = deliver(vendor, [1, 2], max_tries=1)
    assert vendor.calls.count(1) == 1 and stats.deferred == 1 and stats.retries == 0


def test_429_shrinks_concurrency_and_it_recovers():
    errors = {i: [TransientError("rate limited (429)", retry_after=0.0, status=429)] for i in range(0, 40, 4)}
    results, stats, delivery = deliver(AsyncVendor(errors), list(range(200)), max_concurrency=8, max_tries=3)
    assert len(results) == 200 and stats.deferred == 0 and stats.throttled == 10
    assert delivery.limit.lowest < 8 and delivery.limit.limit > delivery.limit.lowest


def test_a_refused_connection_stops_all_sending_and_keeps_every_answer():
    vendor = AsyncVendor({40: [ConnectionConfigError("refused: check the token")]})
    results: list[Verdict] = []
    delivery = AsyncDelivery(DeliverySettings(max_concurrency=4), contextlib.nullcontext, vendor.send,
                             lambda item, error: verdict(item, Outcome.DEFERRED), results.append)
    with pytest.raises(ConnectionConfigError, match="check the token"):
        delivery.run(iter(range(1000)), 1000)
    assert len(vendor.calls) < 100
    assert {int(v.document_id) for v in results} == set(vendor.calls) - {40}
