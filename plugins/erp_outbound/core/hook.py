"""VendorHook: the base of the vendor hooks. Reads the connection, builds the vendor's client.

An Airflow hook on the public API only: ``get_connection`` in ``connection``, nothing of
HttpHook. Connection extras that are not ours (nor a session option such as ``cert``) go
out as HTTP headers, as HttpHook did; the tuning extras never do.
"""

from __future__ import annotations

import asyncio
import contextvars
import os
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from airflow.sdk import BaseHook

from erp_outbound.core.client import VendorClient
from erp_outbound.core.delivery_settings import DeliverySettings

T = TypeVar("T")

# The connection a person tests with the UI's Test button. Airflow tests a copy under a random id
# (e.g. 'tUdVhY6s', an AIRFLOW_CONN_ variable for the request's time): messages name the person's
# connection instead. Set by the plugin's middleware for the test request (ui/connection_test.py).
TESTED_CONNECTION: contextvars.ContextVar[str | None] = contextvars.ContextVar("erp_outbound_tested_connection", default=None)

# Extras that tune erp-outbound, or configure the connection, and are never sent as headers.
TUNING_EXTRAS = frozenset(DeliverySettings.extra_names())
SESSION_EXTRAS = frozenset({"cert", "verify", "proxies", "proxy", "stream", "allow_redirects", "max_redirects",
                            "trust_env", "check_response", "auth_type", "auth_kwargs"})


def own_extras(extras: dict) -> dict:
    """Extras by plain name: the UI form may store them as extra__<conn type>__<name>."""
    return {key.rsplit("__", 1)[-1]: value for key, value in extras.items()}


def run_sync(make: Callable[[], Awaitable[T]]) -> T:
    """Run a coroutine from synchronous code (a Test button, a sync step), even inside a running loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    result: dict[str, Any] = {}

    def in_thread() -> None:
        try:
            result["value"] = asyncio.run(make())
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            result["error"] = exc

    # The caller's context goes along (e.g. which connection the Test button tests).
    thread = threading.Thread(target=contextvars.copy_context().run, args=(in_thread,), name="vendor-client")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]


class VendorHook(BaseHook):
    conn_name_attr = "conn_id"
    default_conn_name = ""
    conn_type = ""
    hook_name = ""
    default_host = ""
    default_headers: dict[str, str] = {}
    # Extras that configure the hook itself and must never go out as HTTP headers.
    private_extras: frozenset[str] = frozenset()

    def __init__(self, conn_id: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.conn_id = conn_id

    @property
    def connection(self):
        if not hasattr(self, "_connection"):
            self._connection = self.get_connection(self.conn_id)
        return self._connection

    @property
    def name(self) -> str:
        """How messages name the connection, e.g. "RamBase connection 'rambase_default'"."""
        return f"{self.hook_name} connection {self.shown_conn_id!r}"

    @property
    def shown_conn_id(self) -> str:
        """The connection's id as its owner knows it (the Test button's copy has a random one)."""
        tested = TESTED_CONNECTION.get()
        if tested and tested != self.conn_id and f"AIRFLOW_CONN_{self.conn_id.upper()}" in os.environ:
            return tested
        return self.conn_id

    @property
    def extras(self) -> dict:
        return own_extras(self.connection.extra_dejson)

    @property
    def base_url(self) -> str:
        conn = self.connection
        host = (conn.host or self.default_host or "").rstrip("/")
        if host and "://" not in host:
            host = f"https://{host}"
        if conn.port:
            host = f"{host}:{conn.port}"
        return host

    def url(self, endpoint: str) -> str:
        return f"{self.base_url}/{endpoint.lstrip('/')}"

    def delivery_settings(self) -> DeliverySettings:
        return DeliverySettings.from_extras(self.connection.extra_dejson)

    def headers(self) -> dict[str, str]:
        """The vendor's fixed headers and the connection's own extra headers."""
        hidden = TUNING_EXTRAS | SESSION_EXTRAS | self.private_extras
        extra = {key: str(value) for key, value in self.connection.extra_dejson.items()
                 if not key.startswith("extra__") and key not in hidden}
        return dict(self.default_headers) | extra

    def client(self, settings: DeliverySettings | None = None) -> VendorClient:
        """The vendor's client on this connection; use it inside one event loop, ``async with``."""
        return VendorClient(self.name, self.base_url, settings or self.delivery_settings(), self.headers())

    def describe(self) -> str:
        return f"connection {self.shown_conn_id!r} ({self.base_url})"
