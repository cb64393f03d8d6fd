"""A tiny scripted HTTP vendor for engine tests: answers from a script, records every request.

It runs its own event loop in a thread, so synchronous code under test (operators, run_sync)
and async clients alike can talk to it. Each route answers from its script in order, then
with its default answer; every request is recorded with the server's own monotonic time.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web


@dataclass
class Reply:
    status: int = 200
    body: object = None  # dict/list -> JSON, str -> text
    headers: dict = field(default_factory=dict)


@dataclass
class Seen:
    method: str
    path: str
    at: float  # the server's time.monotonic() when the request arrived
    headers: dict
    query: dict
    body: bytes


Handler = Callable[[web.Request, "FakeVendor"], Awaitable[Reply]]


class FakeVendor:
    def __init__(self) -> None:
        self.script: dict[tuple[str, str], list[Reply]] = {}
        self.defaults: dict[tuple[str, str], Reply | Handler] = {}
        self.seen: list[Seen] = []
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- scripting --------------------------------------------------------------------
    def answer(self, method: str, path: str, default: Reply | Handler, *first: Reply) -> None:
        """``path`` answers ``first`` replies in order, then ``default`` (a Reply or an async handler)."""
        self.script[(method, path)] = list(first)
        self.defaults[(method, path)] = default

    def requests(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if (s.method, s.path) == (method, path)]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- serving ------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        self.seen.append(Seen(request.method, request.path, time.monotonic(), dict(request.headers),
                              dict(request.query), body))
        key = (request.method, request.path)
        if key not in self.defaults:
            key = next((k for k in self.defaults if k[0] == request.method and k[1].endswith("*")
                        and request.path.startswith(k[1][:-1])), key)
        if key not in self.defaults:
            return web.Response(status=404, text="no such route")
        queue = self.script[key]
        reply = queue.pop(0) if queue else self.defaults[key]
        if callable(reply):
            reply = await reply(request, self)
        if isinstance(reply.body, (dict, list)):
            return web.Response(status=reply.status, text=json.dumps(reply.body), headers=reply.headers,
                                content_type="application/json")
        return web.Response(status=reply.status, text=reply.body or "", headers=reply.headers)

    def __enter__(self) -> FakeVendor:
        started = threading.Event()

        async def start() -> None:
            app = web.Application()
            app.router.add_route("*", "/{tail:.*}", self._handle)
            self._runner = web.AppRunner(app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, "127.0.0.1", 0)
            await site.start()
            self.port = self._runner.addresses[0][1]
            started.set()

        def serve() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(start())
            self._loop.run_forever()

        self._thread = threading.Thread(target=serve, name="fake-vendor", daemon=True)
        self._thread.start()
        assert started.wait(10), "the fake vendor did not start"
        return self

    def call(self, fn, *args):
        """Run ``fn(*args)`` on the server's loop (server state is only touched there)."""
        async def run():
            return fn(*args)
        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)

    def __exit__(self, *exc) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()
