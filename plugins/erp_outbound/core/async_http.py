"""HTTP with aiohttp for the asyncio delivery loop: the same answers and failure classes as ``http.request``."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import requests

from erp_outbound.core.http import (
    Answer,
    ConnectionConfigError,
    TransientError,
    _log_exchange,
    _without_query,
    answer_of,
    body_log,
)

# Headers aiohttp sets itself, per request or per connection.
_OWN_HEADERS = frozenset({"connection", "content-length", "host"})


def client_session(session: requests.Session, max_connections: int) -> aiohttp.ClientSession:
    """An aiohttp session sending what the hook's requests session sends: its headers and auth.

    The hook builds its requests session from the connection (token, extras as headers);
    reading them back keeps one place that knows how a vendor authenticates.
    """
    prepared = requests.Request("POST", "http://localhost/").prepare()
    prepared.headers.update(session.headers)
    if session.auth is not None:
        prepared = session.auth(prepared)
    headers = {k: v for k, v in prepared.headers.items() if k.lower() not in _OWN_HEADERS}
    connector = aiohttp.TCPConnector(limit=max_connections, keepalive_timeout=120)
    return aiohttp.ClientSession(headers=headers, connector=connector, raise_for_status=False)


async def arequest(session: aiohttp.ClientSession, method: str, url: str, timeout: float,
                   data: bytes | None = None) -> Answer:
    """One request; network failures become TransientError, a URL that cannot work a config error."""
    try:
        async with session.request(method, url, data=data, timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            text = (await response.read()).decode("utf-8", errors="replace")
            answer = answer_of(response.status, text, dict(response.headers))
    except asyncio.TimeoutError as exc:
        raise TransientError(f"timeout after {timeout:g}s") from exc
    except aiohttp.ClientConnectorDNSError as exc:
        raise ConnectionConfigError(f"the host of {_without_query(url)} cannot be resolved: check the "
                                    "connection's Host") from exc
    except aiohttp.InvalidURL as exc:
        raise ConnectionConfigError(f"{_without_query(url)} is not a usable URL: check the connection's Host") from exc
    except aiohttp.ClientError as exc:
        raise TransientError(f"connection failed: {type(exc).__name__}") from exc
    if body_log.isEnabledFor(logging.DEBUG):
        _log_exchange(method, url, {"data": data}, f"HTTP {answer.status}", text)
    return answer
