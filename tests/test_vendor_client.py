"""The vendor clients under pressure: Retry-After on every endpoint, tokens under concurrency, pacing.

Vendors are tiny scripted servers (tests/fake_vendor.py) that record each request with their
own clock: a wait is checked as the gap the server saw, never as a speed.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import math
import random
import time

import pytest
from sqlalchemy import create_engine

from erp_outbound.core.delivery import Delivery, Request
from erp_outbound.core.delivery_settings import DeliverySettings
from erp_outbound.core.http import ConnectionConfigError
from erp_outbound.core.pacing import TRANSITIONS, PaceState, RateController, WindowVerdict
from erp_outbound.core.tokens import TokenCache, renew_after
from erp_outbound.core.verdict import Outcome, SendOutcome, Verdict
from erp_outbound.erp.state import ensure_tables
from erp_outbound.gep.batches import BatchSize
from erp_outbound.gep.hook import GepSmartHook
from erp_outbound.gep.operators import GepAcknowledgeStatusOperator, GepSendContext
from erp_outbound.procuros.error_reports import ErrorReporter
from erp_outbound.procuros.hook import ProcurosHook
from erp_outbound.procuros.operators import ProcurosSendTransactionsOperator
from erp_outbound.procuros.task_operators import ProcurosListTasksOperator, ProcurosMarkTasksOperator
from erp_outbound.rambase.hook import RambaseHook
from erp_outbound.rambase.operators import RambaseForwardInvoicesOperator, RambaseUpdatePurchaseOrdersOperator
from erp_outbound.rambase.triggers import RambaseOperationTrigger
from erp_outbound.steps.load import SendContext
from fake_vendor import FakeVendor, Reply

TUNING = {"max_tries": 3, "backoff_initial": 0.01, "max_retry_wait": 5}
TOO_FAST = Reply(429, {"message": "Too Many Requests"}, {"Retry-After": "1"})
DOC = {"doc_type": "ORDER", "document_id": "1", "identifier": "100500", "attempts": 0, "body": "{}"}


def connect_all(monkeypatch, url: str, **extra) -> None:
    extras = TUNING | extra
    monkeypatch.setenv("AIRFLOW_CONN_PROCUROS_DEFAULT", json.dumps(
        {"conn_type": "procuros", "host": url, "password": "p-token", "extra": extras}))
    monkeypatch.setenv("AIRFLOW_CONN_RAMBASE_DEFAULT", json.dumps(
        {"conn_type": "rambase", "host": url, "login": "client", "password": "client-secret",
         "extra": {"db": "SANDBOX"} | extras}))
    monkeypatch.setenv("AIRFLOW_CONN_GEP_SMART_DEFAULT", json.dumps(
        {"conn_type": "gep_smart", "host": url, "password": "gep-key", "extra": {"auth_url": f"{url}/token"} | extras}))


def rambase_tokens(vendor: FakeVendor, uses: int | None = None) -> list[str]:
    """RamBase's token endpoint: token-1, token-2, ...; the API takes each for ``uses`` calls, then 401."""
    issued: list[str] = []
    used: dict[str, int] = {}

    async def grant(request, _):
        issued.append(f"token-{len(issued) + 1}")
        return Reply(200, {"access_token": issued[-1], "expires_in": 3600})

    async def api(request, _):
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in issued or (uses is not None and used.get(token, 0) >= uses):
            return Reply(401, {"error": {"message": "token expired"}})
        used[token] = used.get(token, 0) + 1
        return Reply(200, {"purchaseOrder": {"purchaseOrderId": 1}})

    vendor.answer("POST", "/oauth2/access_token", grant)
    vendor.answer("PUT", "/procurement/orders/*", api)
    vendor.answer("GET", "/procurement/orders", api)
    return issued


async def deliver(client, send_one, docs, send: SendContext | None = None):
    """An operator's send step through the engine, as the load step runs it: the verdicts and the statistics."""
    send = send or SendContext(hook=None, client=client, erp=None)
    verdicts: list[Verdict] = []

    def defer(request: Request, error) -> SendOutcome:
        return SendOutcome.several(Verdict(vendor="t", doc_type="ORDER", document_id=d["document_id"], identifier="x",
                                           outcome=Outcome.DEFERRED, message=error.reason) for d in request.documents)

    requests = [Request(doc if isinstance(doc, list) else [doc]) for doc in docs]
    stats = await Delivery(client.settings, lambda request: send_one(send, request), defer,
                           lambda outcome: verdicts.extend(outcome.verdicts)).deliver(requests, len(requests))
    return verdicts, stats


# --------------------------------------------------------------------------- Retry-After, endpoint by endpoint


def ping(vendor):
    vendor.answer("GET", "/v2/ping", Reply(204), TOO_FAST)

    async def run():
        async with ProcurosHook().client() as client:
            await client.policy.call(client.ping)
    return run, ("GET", "/v2/ping")


def transactions(vendor):
    vendor.answer("POST", "/v2/transactions", Reply(201, {"procurosTransactionId": "t-1"}), TOO_FAST)
    operator = ProcurosSendTransactionsOperator(task_id="load", batches={})

    async def run():
        async with ProcurosHook().client() as client:
            verdicts, _ = await deliver(client, operator.send_one, [DOC])
            assert verdicts[0].outcome is Outcome.DELIVERED
    return run, ("POST", "/v2/transactions")


def task_list(vendor):
    vendor.answer("GET", "/v2/tasks", Reply(200, {"items": [], "hasMore": False}), TOO_FAST)

    async def run():
        tasks, pages = await ProcurosListTasksOperator(task_id="list")._list(ProcurosHook(), 10)
        assert pages == 1
    return run, ("GET", "/v2/tasks")


def task_mark(vendor):
    vendor.answer("PUT", "/v2/tasks/*", Reply(200, {}), TOO_FAST)
    task = {"task_id": "T1", "task_type": "EXPORT_CUSTOMERS", "body": '{"success":true,"result":[]}'}

    async def run():
        marks: list[Verdict] = []
        await ProcurosMarkTasksOperator._mark(ProcurosHook(), [task], marks.append)
        assert [m.outcome for m in marks] == [Outcome.DELIVERED]
    return run, ("PUT", "/v2/tasks/T1")


def error_report(vendor, tmp_path):
    vendor.answer("POST", "/v2/errors", Reply(201, {"errorUrl": "https://portal/e/1"}), TOO_FAST)
    engine = create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    ensure_tables(engine)

    async def run():
        reporter = ErrorReporter(ProcurosHook(), engine, report_after=1)
        verdict = Verdict(vendor="procuros", doc_type="INVOICE", document_id="42", identifier="RE-42",
                          outcome=Outcome.BUILD_ERROR, message="no GTIN")
        await asyncio.to_thread(reporter.report, [verdict])
        assert reporter.outcomes[("INVOICE", "42")] == "reported now"
    return run, ("POST", "/v2/errors")


def rambase_token(vendor):
    rambase_tokens(vendor)
    grant = vendor.defaults[("POST", "/oauth2/access_token")]
    vendor.answer("POST", "/oauth2/access_token", grant, TOO_FAST)

    async def run():
        async with RambaseHook().client() as client:
            await client.policy.call(client.check_database)
    return run, ("POST", "/oauth2/access_token")


def rambase_order(vendor):
    rambase_tokens(vendor)
    api = vendor.defaults[("PUT", "/procurement/orders/*")]
    vendor.answer("PUT", "/procurement/orders/*", api, TOO_FAST)
    operator = RambaseUpdatePurchaseOrdersOperator(task_id="load", batches={})

    async def run():
        async with RambaseHook().client() as client:
            verdicts, _ = await deliver(client, operator.send_one, [DOC])
            assert verdicts[0].outcome is Outcome.DELIVERED
    return run, ("PUT", "/procurement/orders/100500")


def rambase_operation(vendor, monkeypatch):
    rambase_tokens(vendor)
    path = "/procurement/order-responses/100500/api-operations/100860/instances"
    vendor.answer("POST", path, Reply(201, {"operationInstance": {"operationInstanceId": 7, "status": 9}}), TOO_FAST)
    operator = RambaseForwardInvoicesOperator(task_id="load", batches={})
    marks: list[str] = []
    monkeypatch.setattr(operator, "_erp", lambda send, name, **params: marks.append(name))

    async def run():
        async with RambaseHook().client() as client:
            verdicts, _ = await deliver(client, operator.send_one, [dict(DOC)])
            assert verdicts[0].outcome is Outcome.DELIVERED
        assert marks == ["mark_requested", "store_operation"]  # the 429 ran nothing: asked once, stored once
    return run, ("POST", path)


def rambase_poll(vendor):
    rambase_tokens(vendor)
    path = "/system/api/operation-instances/7"
    vendor.answer("GET", path, Reply(200, {"operationInstance": {"operationInstanceId": 7, "status": 9}}), TOO_FAST)

    async def run():
        trigger = RambaseOperationTrigger("rambase_default", {"7": path.lstrip("/")}, timeout_at=time.time() + 60,
                                          poll_seconds=0.01)
        events = [event async for event in trigger.run()]
        assert list(events[0].payload["finished"]) == ["7"]
    return run, ("GET", path)


def gep_token(vendor):
    vendor.answer("GET", "/token", Reply(200, {"Token": "jwt-1", "Expires": 60}), TOO_FAST)

    async def run():
        async with GepSmartHook().client() as client:
            await client.policy.call(client.check_token)
    return run, ("GET", "/token")


def gep_batch(vendor):
    vendor.answer("GET", "/token", Reply(200, {"Token": "jwt-1", "Expires": 60}))
    path = "/SmartInterfaceAPI/api/Order/PORStatus"
    vendor.answer("PUT", path, Reply(200, {"successDetails": [{"key": "100500"}]}), TOO_FAST)
    operator = GepAcknowledgeStatusOperator(task_id="load", batches={})

    async def run():
        async with GepSmartHook().client() as client:
            send = GepSendContext(hook=None, client=client, erp=None, documents_per_request=100, sizes=BatchSize(100))
            verdicts, _ = await deliver(client, operator.send_one, [[DOC]], send)
            assert verdicts[0].outcome is Outcome.DELIVERED
    return run, ("PUT", path)


ENDPOINTS = {
    "procuros ping": ping, "procuros transactions": transactions, "procuros task list": task_list,
    "procuros task mark": task_mark, "procuros errors": error_report, "rambase token": rambase_token,
    "rambase purchase order": rambase_order, "rambase operation": rambase_operation,
    "rambase operation poll": rambase_poll, "gep token": gep_token, "gep batch": gep_batch,
}


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
def test_retry_after_is_honoured_on_every_endpoint(endpoint, monkeypatch, tmp_path):
    with FakeVendor() as vendor:
        connect_all(monkeypatch, vendor.url)
        scenario = ENDPOINTS[endpoint]
        extra = {"tmp_path": tmp_path, "monkeypatch": monkeypatch}
        wanted = scenario.__code__.co_varnames[1:scenario.__code__.co_argcount]
        run, (method, path) = scenario(vendor, **{k: extra[k] for k in wanted})
        asyncio.run(run())
        seen = vendor.requests(method, path)
    assert len(seen) == 2, f"{endpoint}: {len(seen)} requests"
    assert seen[1].at - seen[0].at >= 1.0, f"{endpoint}: retried after {seen[1].at - seen[0].at:.3f}s"


# --------------------------------------------------------------------------- tokens under concurrency


def test_sixteen_senders_with_tokens_dying_every_ten_uses_deliver_everything(monkeypatch):
    docs = [dict(DOC, document_id=str(n), identifier=str(100000 + n)) for n in range(300)]
    with FakeVendor() as vendor:
        connect_all(monkeypatch, vendor.url, max_concurrency=16, max_tries=5)
        issued = rambase_tokens(vendor, uses=10)
        operator = RambaseUpdatePurchaseOrdersOperator(task_id="load", batches={})

        async def run():
            async with RambaseHook().client() as client:
                return await deliver(client, operator.send_one, docs)

        verdicts, stats = asyncio.run(run())
    assert sorted(int(v.document_id) for v in verdicts) == list(range(300))
    assert all(v.outcome is Outcome.DELIVERED for v in verdicts), {v.message for v in verdicts}
    assert stats.deferred == 0
    # 300 accepted calls at 10 per token need 30 tokens; a burst of 401s on one dead token costs one renewal.
    assert len(issued) <= math.ceil(300 / 10) + 2


def test_a_burst_of_401s_costs_one_renewal(monkeypatch):
    with FakeVendor() as vendor:
        connect_all(monkeypatch, vendor.url, max_concurrency=16)
        issued: list[str] = []
        waiting: list[asyncio.Future] = []

        async def grant(request, _):
            issued.append(f"token-{len(issued) + 1}")
            return Reply(200, {"access_token": issued[-1], "expires_in": 3600})

        async def api(request, _):
            # token-1 serves the first call, then dies. Its 401s are held until all 16 senders have one.
            token = request.headers["Authorization"].removeprefix("Bearer ")
            if token == "token-1" and len(vendor.requests("GET", "/procurement/orders")) > 1:
                future = asyncio.get_running_loop().create_future()
                waiting.append(future)
                if len(waiting) == 16:
                    for f in waiting:
                        f.set_result(None)
                await asyncio.wait_for(future, 30)
                return Reply(401, {"error": {"message": "token expired"}})
            return Reply(200, {"purchaseOrders": []})

        vendor.answer("POST", "/oauth2/access_token", grant)
        vendor.answer("GET", "/procurement/orders", api)

        async def run():
            async with RambaseHook().client() as client:
                await client.check_database()  # token-1, accepted once

                async def read(_send, _request):
                    answer = await client.call("GET", "procurement/orders")
                    return SendOutcome.final(Verdict(vendor="t", doc_type="ORDER", document_id="1", identifier="x",
                                                     outcome=Outcome.DELIVERED, http_status=answer.status))

                return await deliver(client, read, [dict(DOC, document_id=str(n)) for n in range(16)])

        verdicts, _ = asyncio.run(run())
    assert [v.http_status for v in verdicts] == [200] * 16
    assert issued == ["token-1", "token-2"]


def test_wrong_credentials_are_a_configuration_error_about_the_token(monkeypatch):
    with FakeVendor() as vendor:
        connect_all(monkeypatch, vendor.url)
        issued = rambase_tokens(vendor, uses=0)  # the token endpoint issues tokens the API never takes

        async def run():
            async with RambaseHook().client() as client:
                await client.check_database()

        with pytest.raises(ConnectionConfigError) as caught:
            asyncio.run(run())
    message = str(caught.value)
    assert "rambase_default" in message and "token" in message and "client id and secret" in message
    assert "$db" not in message and "database" not in message
    assert len(issued) == 2  # the first token, and one renewal to tell a dead token from a wrong one


def test_every_token_obtained_is_masked(monkeypatch):
    masked: list[str] = []
    monkeypatch.setattr("erp_outbound.rambase.hook.mask_secret", masked.append)
    with FakeVendor() as vendor:
        connect_all(monkeypatch, vendor.url, max_concurrency=4)
        issued = rambase_tokens(vendor, uses=3)
        operator = RambaseUpdatePurchaseOrdersOperator(task_id="load", batches={})

        async def run():
            async with RambaseHook().client() as client:
                return await deliver(client, operator.send_one,
                                     [dict(DOC, document_id=str(n)) for n in range(20)])

        asyncio.run(run())
    assert len(issued) > 1 and set(issued) <= set(masked)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize("lifetime, renewed_after", [(30, 24), (60, 48), (3600, 3540)])
def test_tokens_are_renewed_at_a_share_of_short_lifetimes(lifetime, renewed_after):
    assert renew_after(lifetime) == renewed_after
    clock = Clock()
    fetched: list[int] = []

    async def fetch():
        fetched.append(1)
        return f"t{len(fetched)}", lifetime

    async def scenario():
        cache = TokenCache(fetch, clock)
        first = await cache.current()
        clock.now += renewed_after - 0.5
        assert await cache.current() is first  # reused: one fetch per call, not two
        clock.now += 0.5
        assert (await cache.current()).value == "t2"

    asyncio.run(scenario())
    assert len(fetched) == 2


def test_one_renewal_at_a_time():
    release = asyncio.Event()
    fetched: list[int] = []

    async def fetch():
        fetched.append(1)
        await release.wait()
        return f"t{len(fetched)}", 3600

    async def scenario():
        cache = TokenCache(fetch)
        waiting = [asyncio.create_task(cache.current()) for _ in range(16)]
        await asyncio.sleep(0)
        release.set()
        tokens = await asyncio.gather(*waiting)
        assert {t.value for t in tokens} == {"t1"}
        stale = tokens[0]
        await asyncio.gather(*(cache.renew(stale) for _ in range(16)))  # 16 requests saw the same 401
        assert (await cache.current()).value == "t2"

    asyncio.run(scenario())
    assert len(fetched) == 2


# --------------------------------------------------------------------------- pacing


def simulate(vendor, seconds: float = 30.0, capacity: float = 700.0):
    """Senders that could start ``capacity`` requests a second, paced by the controller; answers at once."""
    clock = Clock()
    start = clock.now
    pacer = RateController(clock=clock)
    free_at = clock.now
    accepted = throttled = later = 0
    while clock.now - start < seconds:
        clock.now = max(clock.now + pacer.delay(), free_at)
        free_at = clock.now + 1.0 / capacity
        if vendor(clock.now):
            throttled += 1
            later += clock.now - start > 5  # once the limit was found
        else:
            accepted += 1
        pacer.answered(throttled=vendor.last)
    return accepted / seconds, (throttled, later), pacer


class TokenBucket:
    def __init__(self, rate: float, burst: float):
        self.rate, self.burst, self.tokens, self.at, self.last = rate, burst, burst, None, False

    def __call__(self, now: float) -> bool:
        if self.at is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        self.last = self.tokens < 1
        if not self.last:
            self.tokens -= 1
        return self.last


class RandomFaults:
    def __init__(self, share: float):
        self.share, self.rng, self.last = share, random.Random(7), False

    def __call__(self, now: float) -> bool:
        self.last = self.rng.random() < self.share
        return self.last


@pytest.mark.parametrize("limit", [50, 200, 450])
def test_the_pace_finds_and_holds_a_vendor_limit(limit):
    rate, (throttled, later), pacer = simulate(TokenBucket(limit, burst=limit))
    assert rate >= 0.9 * limit  # held close under the limit...
    assert throttled <= 0.1 * rate * 30  # ...finding it costs some 429s...
    assert later <= 0.02 * rate * 25  # ...holding it very few
    assert pacer.rate is not None and pacer.rate <= 1.1 * limit


def test_random_429s_do_not_ratchet_the_pace_down():
    rate, _, pacer = simulate(RandomFaults(0.1))
    assert rate >= 0.85 * 700 * 0.9  # at most a few short cuts: nearly the senders' own speed
    assert pacer.noise > 0.05  # the random share was recognised as noise


@pytest.mark.parametrize("capacity", [80, 150])
def test_random_429s_do_not_ratchet_the_pace_down_with_few_answers_a_window(capacity):
    # Slow senders: a window holds 20-40 answers, two to four of them random 429s. A rule that needed five
    # 429s a window before a share could look random once cut such a pace down to 5/s.
    rate, _, pacer = simulate(RandomFaults(0.1), capacity=capacity)
    assert rate >= 0.7 * capacity * 0.9
    assert pacer.noise > 0.05


def simulate_in_flight(vendor, concurrency: int, latency: float = 0.02, seconds: float = 15.0):
    """``concurrency`` senders, each answer ``latency`` after its request (the bench's shape): the first
    window's answers all come at once, and a token bucket's burst is in them."""
    clock = Clock()
    start = clock.now
    pacer = RateController(clock=clock)
    events = [(start, n, "ready", None) for n in range(concurrency)]  # (time, order, what, booked/answer)
    heapq.heapify(events)
    accepted = throttled = 0
    order = itertools.count(concurrency)
    while events:
        now, _, what, detail = heapq.heappop(events)
        if now - start > seconds:
            break
        clock.now = now
        if what == "ready":  # book a start, as VendorClient does before each request
            heapq.heappush(events, (now + pacer.delay(), next(order), "start", now))
        elif what == "start":
            if not pacer.books_now(detail):  # booked under an earlier pace: booked again (wait_turn)
                heapq.heappush(events, (now, next(order), "ready", None))
            else:
                heapq.heappush(events, (now + latency, next(order), "answer", (vendor(now), detail)))
        else:
            was_throttled, booked = detail
            pacer.answered(was_throttled, booked)
            throttled += was_throttled
            accepted += not was_throttled
            heapq.heappush(events, (now, next(order), "ready", None))
    return accepted / seconds, throttled / max(accepted, 1), pacer


@pytest.mark.parametrize("limit, concurrency", [(200, 16), (200, 64), (450, 64)])
def test_a_limit_with_a_small_burst_is_found_with_requests_in_flight(limit, concurrency):
    # A bucket 20 deep (the sandbox's): the first answers, all at once, hold the burst and overstate the
    # accepted rate; a cut to it leaves the share of 429s as it was, which once read as random 429s.
    rate, throttled_per_doc, pacer = simulate_in_flight(TokenBucket(limit, burst=20), concurrency)
    assert rate >= 0.9 * limit
    assert throttled_per_doc <= 0.1
    assert pacer.noise == 0  # never taken for random 429s


@pytest.mark.parametrize("limit, concurrency", [(200, 16), (200, 64), (450, 64)])
def test_a_cut_leaves_no_gap_in_the_sending(limit, concurrency):
    # Before a cut, each sender had booked a start at the old pace, up to concurrency / pace ahead. Those are
    # booked again at the new pace from the cut on, not after the last old booking: the vendor's whole limit
    # is used (a gap of 0.3 s per cut cost 5% at 64 senders), with few 429s.
    rate, throttled_per_doc, pacer = simulate_in_flight(TokenBucket(limit, burst=20), concurrency)
    assert rate >= 0.97 * limit
    assert throttled_per_doc <= 0.05


def test_random_429s_with_requests_in_flight_do_not_ratchet_the_pace_down():
    rate, _, pacer = simulate_in_flight(RandomFaults(0.1), concurrency=64)
    assert rate >= 0.85 * (64 / 0.02) * 0.9
    assert pacer.rate is None and pacer.noise > 0.05


def test_the_pacing_states_are_named_and_every_verdict_has_a_transition():
    # A closed window's verdict moves the controller along TRANSITIONS; "looks random" is judged only against
    # a cut, so only the states that verify one have it.
    verifying = {PaceState.VERIFYING, PaceState.RECHECKING}
    assert set(TRANSITIONS) == {(state, verdict) for state in PaceState for verdict in WindowVerdict
                                if verdict is not WindowVerdict.LOOKS_RANDOM or state in verifying}
    # A found limit is held; random 429s leave the pace unpaced.
    _, _, pacer = simulate_in_flight(TokenBucket(200, burst=20), 16)
    assert pacer.state is PaceState.HOLDING
    _, _, pacer = simulate_in_flight(RandomFaults(0.1), concurrency=64)
    assert pacer.state is PaceState.UNPACED


def test_a_cut_is_verified_by_the_next_window():
    clock = Clock()
    pacer = RateController(clock=clock)
    for n in range(40):  # 20 answers, then 20 more with 429s: too many, closed early
        clock.now += 0.001
        pacer.answered(throttled=n >= 20)
    assert pacer.state is PaceState.VERIFYING and pacer.cuts == 1
    paced = pacer.rate
    for _ in range(40):  # a normal window at the new pace: the 429s were load-driven
        clock.now += 0.01
        pacer.answered(throttled=False, sent_at=clock.now)
    # The cut's window was closed early (rough): its pace is a floor to climb from, not a limit to hold.
    assert pacer.state is PaceState.CLIMBING and pacer.rate == paced


def _window(pacer: RateController, clock: Clock, answers: int | None = None, throttled: int = 0) -> None:
    """One full window (0.25 s) of answers sent at the current pace (else 40), the first ``throttled`` 429s."""
    rate = pacer.rate or 160.0
    answers = answers or max(20, round(rate * 0.26))
    for n in range(answers):
        clock.now += 0.26 / answers
        pacer.answered(throttled=n < throttled, sent_at=clock.now)


def test_after_a_rough_cut_the_pace_climbs_then_steps_back_at_the_first_429s():
    clock = Clock()
    pacer = RateController(clock=clock)
    for n in range(40):  # the start of a run: a burst of 429s closes the window early
        clock.now += 0.001
        pacer.answered(throttled=n >= 20)
    _window(pacer, clock)
    floor = pacer.rate
    assert pacer.state is PaceState.CLIMBING
    paces = []
    for _ in range(5):
        _window(pacer, clock)
        paces.append(pacer.rate)
    steps = [round(b / a - 1, 3) for a, b in zip([floor] + paces, paces)]
    assert steps == [0.01, 0.02, 0.04, 0.04, 0.04]  # doubling, capped: an overshoot stays small
    _window(pacer, clock, throttled=3)  # the limit: back two steps, to a pace a normal window was seen at
    assert pacer.state is PaceState.HOLDING and pacer.rate == pytest.approx(paces[-3])
    assert pacer.noise == 0


def test_a_held_limit_is_not_probed_in_a_runs_last_stretch():
    clock = Clock()
    pacer = RateController(clock=clock)
    pacer.state, pacer.rate = PaceState.HOLDING, 200.0
    pacer.note_remaining(1000)  # 5 s of work left: probe on
    _window(pacer, clock)
    assert pacer.rate == pytest.approx(202.0)
    pacer.note_remaining(300)  # 1.5 s left: a probe's 429 would cost a Retry-After after everything else
    _window(pacer, clock)
    assert pacer.rate == pytest.approx(202.0) and pacer.state is PaceState.HOLDING


def test_a_pace_over_the_limit_is_eased_under_it_in_a_runs_last_stretch():
    # A pace that crept 1% a window over the vendor's limit drains its bucket; a 429 in the last seconds is
    # retried after its Retry-After, when everything else is done: the run's end waits on it (make bench saw a
    # second with nothing sent). In the last stretch the pace goes to where a cut to the limit seen would put it.
    clock = Clock()
    pacer = RateController(clock=clock)
    pacer.state, pacer.rate, pacer.limit_seen = PaceState.HOLDING, 210.0, 200.0
    pacer.note_remaining(300)
    _window(pacer, clock)
    assert pacer.rate == pytest.approx(190.0) and pacer.state is PaceState.HOLDING
    pacer.rate = 180.0  # already under it: left as it is, not probed
    _window(pacer, clock)
    assert pacer.rate == pytest.approx(180.0)
    # A climb's limit seen is its rough floor (low) and no 429 came since: its pace is held, not eased to it.
    pacer.state, pacer.rate, pacer.limit_seen = PaceState.CLIMBING, 180.0, 150.0
    _window(pacer, clock)
    assert pacer.rate == pytest.approx(180.0) and pacer.state is PaceState.CLIMBING


def test_a_rough_start_is_measured_from_its_first_answer():
    # The start of a run on a busy machine: connections open and the first answers come 40 ms after the first
    # request, then spread out. Counted from the first request, the accepted rate was 25-35% under the limit and
    # the climb from it took 3 s; counted from the first answer it is the rate the vendor accepted at.
    clock = Clock()
    pacer = RateController(clock=clock)
    booked = clock.now
    clock.now += 0.04
    for n in range(48):  # 400 answers a second, the last 20 of them 429s: the window is closed early (rough)
        clock.now += 0.0025
        pacer.answered(throttled=n >= 28, sent_at=booked)
    assert pacer.state is PaceState.VERIFYING and pacer.cuts == 1
    from_first_answer = 28 / (47 * 0.0025)  # 238/s; from the first request it would be 28 / 0.16 = 175/s
    assert pacer.limit_seen == pytest.approx(from_first_answer)
    assert pacer.rate == pytest.approx(0.95 * from_first_answer)


def test_the_delivery_engine_tells_the_pace_what_is_left():
    left: list[int] = []

    async def send(item):
        return item

    settings = DeliverySettings(max_concurrency=2)
    Delivery(settings, send, lambda item, error: item, lambda verdict: None, on_remaining=left.append).run(range(5), 5)
    assert sorted(left, reverse=True) == [4, 3, 2, 1, 0]


def test_the_connection_ceiling_holds():
    pacer = RateController(ceiling=100, clock=Clock())
    starts = []
    for _ in range(50):
        pacer.clock.now += pacer.delay()
        starts.append(pacer.clock.now)
    assert min(b - a for a, b in zip(starts, starts[1:])) >= 0.01 - 1e-9


def test_a_dropped_connection_is_a_lost_answer_never_a_silent_resend(monkeypatch):
    # aiohttp sends an idempotent request (a PUT) again, unseen, when a kept-alive connection drops;
    # the vendor may have acted on the first, so the client reports the lost answer instead.
    from erp_outbound.core.http import TransientError

    with FakeVendor() as vendor:
        connect_all(monkeypatch, vendor.url)
        vendor.answer("GET", "/v2/ping", Reply(204))

        async def acted_then_dropped(request, _):
            request.transport.close()  # Procuros marked the task; its answer is lost
            return Reply(200, {})

        vendor.answer("PUT", "/v2/tasks/*", acted_then_dropped)

        async def run():
            async with ProcurosHook().client() as client:
                await client.ping()  # the connection is kept alive for the PUT
                await client.mark_task("t1", '{"success": true}')

        with pytest.raises(TransientError) as caught:
            asyncio.run(run())
        assert len(vendor.requests("PUT", "/v2/tasks/t1")) == 1, "sent once: never again behind our back"
    assert caught.value.status is None and "dropped after the request went out" in caught.value.reason
