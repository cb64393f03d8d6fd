"""The aiohttp session of a VendorClient (core/client.py), and its one middleware.

A module of its own so that aiohttp is imported when a client first sends, not when a DAG file
imports an operator (Airflow parses DAG files every 30 seconds).
"""

from __future__ import annotations

import ssl

import aiohttp


class AnswerLost(aiohttp.ClientConnectionError):
    """The connection dropped after the request went out: the vendor may have acted on it."""


async def no_silent_resend(request: aiohttp.ClientRequest, handler) -> aiohttp.ClientResponse:
    """aiohttp sends an idempotent request (PUT, GET) again, unseen, when a kept-alive connection drops.
    The vendor may have acted on the first (a Procuros task mark): the drop is reported as a lost
    answer instead, and the caller's retry policy decides what to do."""
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise  # never connected: nothing went out
    except (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError) as exc:
        raise AnswerLost(f"{type(exc).__name__}: {exc}") from exc


def new_session(headers: dict[str, str], connections: int, ssl_context: ssl.SSLContext | None) -> aiohttp.ClientSession:
    """Made inside the running event loop (aiohttp binds a session to it)."""
    connector = aiohttp.TCPConnector(limit=connections, keepalive_timeout=120,
                                     ssl=ssl_context if ssl_context is not None else True)
    return aiohttp.ClientSession(headers=headers, connector=connector, raise_for_status=False,
                                 middlewares=(no_silent_resend,))
