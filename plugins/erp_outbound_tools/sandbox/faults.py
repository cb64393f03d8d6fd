"""Latency and fault injection for every vendor endpoint of the sandbox.

Endpoints are aiohttp routes whose name is "<vendor>.<endpoint>" (for example
"procuros.transactions"). Routes without such a name (``/_sandbox/*``,
``/portal/*``) are never delayed nor faulted.

Fault tables are looked up most specific first: the exact endpoint name,
then "<vendor>.*", then "*". The first table found is used as a whole.

Before the fault table, the pressure switches (pressure.py: a rate limit, faults on first
attempts) may refuse a request. Every answer an endpoint gives is counted by status
("dropped" when the connection was cut), so a benchmark can read how many 429s it got.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter, defaultdict
from typing import Any, Awaitable, Callable

from aiohttp import web

from .config import SandboxConfig, validate_faults
from .pressure import Clock, Pressure, PressureConfig

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# request key under which handlers can see the fault drawn for their request
FAULT_KEY: Any = web.RequestKey("sandbox_fault", str) if hasattr(web, "RequestKey") else "sandbox_fault"

# Faults whose request is still processed by the handler (the answer is lost or
# garbled on the way back), so a retry meets the vendor's duplicate detection.
PROCESSED_FAULTS = frozenset({"slow", "accept_then_drop", "accept_then_html", "truncated_json", "empty_200",
                              "garbled_body"})

_HTML_502 = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


class FaultInjector:
    """Seeded fault draws plus per-endpoint request and fault counters."""

    def __init__(self, config: SandboxConfig, clock: Clock = time.monotonic) -> None:
        self._seed = config.seed
        self.pressure = Pressure(PressureConfig.from_dict(config.pressure), config.seed, clock)
        # An empty table is kept: it switches a wildcard off for that endpoint.
        self._tables = {k: tuple(v.items()) for k, v in config.faults.items()}
        self._cache: dict[str, tuple[tuple[str, float], ...]] = {}
        self.latency_s = max(config.latency_ms, 0) / 1000.0
        self.slow_s = config.slow_s
        self.retry_after_s = config.retry_after_s
        self.reset()

    def set_faults(self, faults: dict[str, dict[str, float]]) -> None:
        """Switch faults at run time (PUT /_sandbox/faults); counters are kept."""
        validate_faults(faults)
        self._tables = {k: tuple(v.items()) for k, v in faults.items()}
        self._cache = {}

    def reset(self) -> None:
        # Reseeding makes a run after /_sandbox/reset draw the same faults again.
        self.rng = random.Random(self._seed)
        self.requests: Counter[str] = Counter()
        self.faults: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.answers: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.pressure.reset()

    def set_pressure(self, pressure: dict[str, Any]) -> None:
        """Switch the rate limit and first-attempt faults at run time (PUT /_sandbox/pressure)."""
        self.pressure.set(PressureConfig.from_dict(pressure))

    async def judge(self, request: web.Request, endpoint: str) -> str | None:
        """The fault this request gets: from the pressure switches first, else from the fault table."""
        body = await request.read() if self.pressure.wants_body(endpoint) else None
        fault = self.pressure.judge(endpoint, request.method, request.path, body)
        if fault is None:
            return self.draw(endpoint)
        self.requests[endpoint] += 1
        return fault

    def answered(self, endpoint: str, response: web.StreamResponse) -> None:
        self.answers[endpoint]["dropped" if response.status == DROPPED else str(response.status)] += 1

    def _table(self, endpoint: str) -> tuple[tuple[str, float], ...]:
        table = self._cache.get(endpoint)
        if table is None:
            vendor = endpoint.split(".", 1)[0]
            for key in (endpoint, vendor + ".*", "*"):
                if key in self._tables:
                    table = self._tables[key]
                    break
            else:
                table = ()
            self._cache[endpoint] = table
        return table

    def draw(self, endpoint: str) -> str | None:
        """Count the request and pick at most one fault for it (one RNG draw)."""
        self.requests[endpoint] += 1
        table = self._table(endpoint)
        if not table:
            return None
        u = self.rng.random()
        for kind, p in table:
            if u < p:
                self.faults[endpoint][kind] += 1
                return kind
            u -= p
        return None

    def snapshot(self) -> dict[str, Any]:
        totals: Counter[str] = Counter()
        for counts in self.faults.values():
            totals.update(counts)
        return {
            "requests": dict(self.requests),
            "faults": {e: dict(c) for e, c in self.faults.items()},
            "fault_totals": dict(totals),
            "answers": {e: dict(c) for e, c in self.answers.items()},
            "answers_429": sum(c["429"] for c in self.answers.values()),
            "pressure": self.pressure.snapshot(),
        }


DROPPED = 599  # stands for a cut connection in the middleware; never reaches a client


def _abort(request: web.Request) -> web.Response:
    """Drop the TCP connection without an answer.

    After abort() aiohttp fails to write the returned response, treats it as a
    client disconnect and closes quietly (no traceback in the log).
    """
    request.protocol.force_close()
    if request.transport is not None:
        request.transport.abort()
    return web.Response(status=DROPPED)


def _json_error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response({"message": message}, status=status, headers=headers)


def make_fault_middleware(injector: FaultInjector) -> Any:
    @web.middleware
    async def fault_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        endpoint = request.match_info.route.name
        if not endpoint or endpoint.startswith("_"):
            return await handler(request)

        response = await _answer(injector, request, handler, endpoint)
        injector.answered(endpoint, response)
        return response

    return fault_middleware


async def _answer(injector: FaultInjector, request: web.Request, handler: Handler,
                  endpoint: str) -> web.StreamResponse:
    fault = await injector.judge(request, endpoint)
    if fault is None:
        # The answer leaves ``latency`` after the request arrived: the emulator's own work
        # happens inside that time instead of adding to it (under load it queues up).
        arrived = asyncio.get_running_loop().time()
        response = await handler(request)
        remaining = arrived + injector.latency_s - asyncio.get_running_loop().time()
        if remaining > 0:
            await asyncio.sleep(remaining)
        return response
    if injector.latency_s:
        await asyncio.sleep(injector.latency_s)

    request[FAULT_KEY] = fault
    if fault == "rate_limit":
        return _json_error(429, "Too Many Attempts.", {"Retry-After": str(injector.retry_after_s)})
    if fault == "rate_limit_no_header":
        return _json_error(429, "Too Many Attempts.")
    if fault == "error_500":
        return _json_error(500, "Server Error")
    if fault == "error_502":
        return _json_error(502, "Bad Gateway")
    if fault == "error_503":
        return _json_error(503, "Service Unavailable")
    if fault == "html_error":
        return web.Response(status=502, text=_HTML_502, content_type="text/html")
    if fault == "reset":
        return _abort(request)
    if fault == "slow":
        await asyncio.sleep(injector.slow_s)
        return await handler(request)

    # The rest are processed for real; only the answer is lost or garbled.
    response = await handler(request)
    if fault == "accept_then_drop":
        return _abort(request)
    if fault == "accept_then_html":
        return web.Response(status=502, text=_HTML_502, content_type="text/html")
    if fault == "truncated_json":
        return web.Response(status=200, body=b'{"procurosTransactio', content_type="application/json")
    if fault == "empty_200":
        return web.Response(status=200, body=b"", content_type="application/json")
    if fault == "garbled_body":  # the vendor's own status (e.g. 201), a body cut short
        return web.Response(status=response.status, body=b'{"message": "OK.", "errorU',
                            content_type="application/json")
    return response
