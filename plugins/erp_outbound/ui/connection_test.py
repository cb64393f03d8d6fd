"""The Test button on connections of our types, on Airflow 3.3.2.

The connection list's Test button posts the listed connection with ``port: Number(port)``, which
is 0 for a connection without a port. ``POST /api/v2/connections/test`` then sees a port other
than the stored one (none), refuses to reuse the stored secret for "a different destination" and
answers 400 (apache/airflow#73298, fixed after 3.3.2 by reading 0 as no port). None of our types
uses a port (the forms hide it), so for them this middleware drops a port of 0 from the test
request before Airflow reads it: the same reading, for our connection types only. It also tells our hooks
which connection is tested: Airflow tests a copy under a random id, which messages would name.
"""

from __future__ import annotations

import json

from erp_outbound.core.hook import TESTED_CONNECTION
from erp_outbound.provider_info import get_provider_info

TEST_PATH = "/api/v2/connections/test"
PORTLESS_TYPES = frozenset(c["connection-type"] for c in get_provider_info()["connection-types"]
                           if "port" in c["ui-field-behaviour"]["hidden-fields"])


def connection_id(body: bytes) -> str | None:
    """The id of the connection a test request is about."""
    try:
        request = json.loads(body)
    except ValueError:
        return None
    value = request.get("connection_id") if isinstance(request, dict) else None
    return value if isinstance(value, str) and value else None


def without_port_zero(body: bytes) -> bytes:
    """The request body, without ``"port": 0`` when it tests one of our port-less types."""
    try:
        request = json.loads(body)
    except ValueError:
        return body
    if (isinstance(request, dict) and request.get("conn_type") in PORTLESS_TYPES
            and request.get("port") in (0, "0") and not isinstance(request.get("port"), bool)):
        del request["port"]
        return json.dumps(request).encode()
    return body


class PortlessConnectionTest:
    """ASGI middleware: reads a test request's body, drops the meaningless port, hands it on."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or not scope["path"].endswith(TEST_PATH):
            await self.app(scope, receive, send)
            return
        chunks, message = [], {"more_body": True}
        while message.get("more_body"):
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send)
                return
            chunks.append(message.get("body", b""))
        body = without_port_zero(b"".join(chunks))
        tested = TESTED_CONNECTION.set(connection_id(body))  # messages name it, not Airflow's random copy
        try:
            await self._forward(scope, body, receive, send)
        finally:
            TESTED_CONNECTION.reset(tested)

    async def _forward(self, scope, body: bytes, receive, send) -> None:
        headers = [(k, v) for k, v in scope["headers"] if k.lower() != b"content-length"]
        scope = dict(scope, headers=[*headers, (b"content-length", str(len(body)).encode())])
        await self.app(scope, _replay([{"type": "http.request", "body": body, "more_body": False}], receive), send)


def _replay(messages: list[dict], receive):
    pending = list(messages)

    async def replayed():
        return pending.pop(0) if pending else await receive()

    return replayed
