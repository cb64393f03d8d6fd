"""The sandbox aiohttp application: vendor emulators, fault middleware, control routes."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from typing import Any, Protocol

from aiohttp import web

from .config import SandboxConfig
from .faults import FaultInjector, make_fault_middleware
from .pressure import Clock
from .gep import add_gep_routes
from .procuros import add_procuros_routes
from .rambase import add_rambase_routes

log = logging.getLogger(__name__)

DEFAULT_PORT = 8700


class RecordSection(Protocol):
    def snapshot(self) -> dict[str, Any]: ...
    def reset(self) -> None: ...


class SandboxRecord:
    """What the sandbox saw: traffic counters plus one section per vendor."""

    def __init__(self, injector: FaultInjector) -> None:
        self.injector = injector
        self.sections: dict[str, RecordSection] = {}

    def register(self, name: str, section: RecordSection) -> None:
        self.sections[name] = section

    def snapshot(self) -> dict[str, Any]:
        data = self.injector.snapshot()
        for name, section in self.sections.items():
            data[name] = section.snapshot()
        return data

    def reset(self) -> None:
        self.injector.reset()
        for section in self.sections.values():
            section.reset()


RECORD_KEY = web.AppKey("sandbox_record", SandboxRecord)


def build_app(config: SandboxConfig | None = None, clock: Clock = time.monotonic) -> web.Application:
    """The sandbox; ``clock`` drives the rate limit's token buckets (tests pass their own)."""
    config = config or SandboxConfig()
    injector = FaultInjector(config, clock)
    record = SandboxRecord(injector)
    app = web.Application(middlewares=[make_fault_middleware(injector)])
    app[RECORD_KEY] = record
    procuros = add_procuros_routes(app, config, record)
    add_rambase_routes(app, config, record)
    add_gep_routes(app, config, record)

    async def get_record(request: web.Request) -> web.Response:
        return web.json_response(record.snapshot(), dumps=lambda o: json.dumps(o, default=str))

    async def reset(request: web.Request) -> web.Response:
        record.reset()
        return web.json_response({"message": "OK."})

    async def add_tasks(request: web.Request) -> web.Response:
        try:
            tasks = await request.json()
            if not isinstance(tasks, list):
                raise ValueError("body must be a JSON list of tasks")
            added = procuros.add_tasks(tasks)
        except ValueError as exc:
            return web.json_response({"message": str(exc)}, status=400)
        return web.json_response({"added": added}, status=201)

    async def set_faults(request: web.Request) -> web.Response:
        try:
            injector.set_faults(await request.json())
        except ValueError as exc:
            return web.json_response({"message": str(exc)}, status=400)
        return web.json_response({"message": "OK."})

    async def set_pressure(request: web.Request) -> web.Response:
        try:
            injector.set_pressure(await request.json())
        except ValueError as exc:
            return web.json_response({"message": str(exc)}, status=400)
        return web.json_response({"message": "OK."})

    async def get_pressure(request: web.Request) -> web.Response:
        return web.json_response(injector.pressure.config.to_dict())

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app.router.add_get("/_sandbox/record", get_record, name="_sandbox.record")
    app.router.add_post("/_sandbox/reset", reset, name="_sandbox.reset")
    app.router.add_post("/_sandbox/tasks", add_tasks, name="_sandbox.tasks")
    app.router.add_put("/_sandbox/faults", set_faults, name="_sandbox.faults")
    app.router.add_put("/_sandbox/pressure", set_pressure, name="_sandbox.pressure")
    app.router.add_get("/_sandbox/pressure", get_pressure, name="_sandbox.pressure_get")
    app.router.add_get("/_sandbox/health", health, name="_sandbox.health")
    return app


def _new_loop() -> asyncio.AbstractEventLoop:
    try:  # uvloop (an Airflow dependency) is faster when present
        import uvloop

        return uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        return asyncio.new_event_loop()


def serve(config: SandboxConfig | None = None, host: str = "127.0.0.1", port: int = DEFAULT_PORT) -> None:
    """Run the sandbox in the foreground until interrupted (used by the CLI)."""
    config = config or SandboxConfig()
    web.run_app(
        build_app(config),
        host=host,
        port=port,
        access_log=log if config.access_log else None,
        print=lambda _: log.warning("erp-outbound sandbox listening on http://%s:%s", host, port),
        shutdown_timeout=1.0,
        loop=_new_loop(),
    )


class SandboxServer:
    """Runs the sandbox on 127.0.0.1 in a background thread with its own event loop.

    >>> with SandboxServer(SandboxConfig()) as sandbox:
    ...     requests.get(sandbox.base_url + "/v2/ping", headers=...)
    """

    host = "127.0.0.1"

    def __init__(self, config: SandboxConfig | None = None, port: int = 0, clock: Clock = time.monotonic) -> None:
        self.config = config or SandboxConfig()
        self.clock = clock
        self.port = port
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self.app: web.Application | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def record(self) -> SandboxRecord:
        assert self.app is not None, "server not started"
        return self.app[RECORD_KEY]

    def start(self) -> "SandboxServer":
        self._thread = threading.Thread(target=self._run, name="erp-outbound-sandbox", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            self._thread.join()
            raise RuntimeError("sandbox failed to start") from self._error
        return self

    def _run(self) -> None:
        loop = self._loop = _new_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._start())
        except BaseException as exc:  # reported to start()'s caller
            self._error = exc
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runner.cleanup())  # type: ignore[union-attr]
            # Handlers of clients that already gave up (e.g. a "slow" fault) still sleep.
            pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.close()

    async def _start(self) -> None:
        self.app = build_app(self.config)
        self.app[RECORD_KEY].injector.pressure.clock = self.clock  # before the first request
        # Short shutdown timeout: a "slow" fault must not hold up stop().
        self._runner = web.AppRunner(
            self.app,
            access_log=log if self.config.access_log else None,
            shutdown_timeout=0.5,
            handle_signals=False,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]

    def call(self, fn: Any, *args: Any) -> Any:
        """Run ``fn(*args)`` on the server's loop (thread-safe access to the record)."""
        assert self._loop is not None, "server not started"

        async def run() -> Any:
            return fn(*args)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout=10)

    def snapshot(self) -> dict[str, Any]:
        """The record as /_sandbox/record returns it (deep copy, thread-safe)."""
        return json.loads(json.dumps(self.call(self.record.snapshot), default=str))

    def reset(self) -> None:
        self.call(self.record.reset)

    def set_faults(self, faults: dict[str, dict[str, float]]) -> None:
        self.call(self.record.injector.set_faults, faults)

    def set_pressure(self, pressure: dict[str, Any]) -> None:
        self.call(self.record.injector.set_pressure, pressure)

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
        self._thread = None

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()
