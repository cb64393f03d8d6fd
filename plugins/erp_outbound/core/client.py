"""VendorClient: every request to a vendor, on the event loop (aiohttp).

A vendor hook builds one client per task from its connection: base URL, headers, and for
token vendors a TokenAuth. The client owns the aiohttp session, paces requests with the
rate controller (core/pacing.py), renews tokens (core/tokens.py), turns network failures
into TransientError (or ConnectionConfigError for a URL that cannot work) and counts
what it sent. Retries are the caller's, by the one policy of core/retry.py.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from erp_outbound.core.delivery_settings import DeliverySettings
from erp_outbound.core.http import (
    Answer,
    ConnectionConfigError,
    TransientError,
    answer_of,
    body_log,
    log_exchange,
    without_query,
)
from erp_outbound.core.pacing import RateController
from erp_outbound.core.retry import RetryPolicy
from erp_outbound.core.tokens import TokenAuth

# aiohttp is imported when a session is made (core/session.py) or a request sent: every vendor hook
# subclasses VendorClient, DAG files import the hooks' operators, and Airflow parses DAG files every 30 s.
if TYPE_CHECKING:
    import aiohttp


@dataclass
class ClientStats:
    requests: int = 0  # HTTP requests that got an answer
    throttled: int = 0  # of them 429
    unanswered: int = 0  # timeouts, lost connections


class VendorClient:
    def __init__(self, name: str, base_url: str, settings: DeliverySettings, headers: dict[str, str] | None = None,
                 auth: TokenAuth | None = None, ssl_context: ssl.SSLContext | None = None):
        self.name = name  # how messages name the connection
        self.base_url = base_url.rstrip("/")
        self.settings = settings
        self.headers = dict(headers or {})
        self.auth = auth
        self.ssl_context = ssl_context
        self.pacer = RateController(settings.max_requests_per_second)
        self.policy = RetryPolicy(settings)  # for callers' retries: one policy for every request
        self.stats = ClientStats()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> VendorClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    def session(self) -> aiohttp.ClientSession:
        """The aiohttp session, made on first use inside the running event loop."""
        if self._session is None:
            from erp_outbound.core.session import new_session

            self._session = new_session(self.headers, self.settings.max_concurrency + 4, self.ssl_context)
        return self._session

    def url(self, endpoint: str) -> str:
        if endpoint.startswith(("http://", "https://")):
            return endpoint
        return f"{self.base_url}/{endpoint.lstrip('/')}"

    def stats_dict(self) -> dict[str, Any]:
        return {"http_requests": self.stats.requests, "answers_429": self.stats.throttled,
                "unanswered": self.stats.unanswered,
                "token_grants": self.auth.cache.grants if self.auth else None,
                "rate_now": _rounded(self.pacer.rate), "rate_lowest": _rounded(self.pacer.lowest),
                "rate_cuts": self.pacer.cuts}

    async def request(self, method: str, endpoint: str, *, data: Any = None, json: Any = None,
                      params: dict | None = None, headers: dict | None = None, timeout: float | None = None,
                      log_bodies: bool = True, authorized: bool = True) -> Answer:
        """One request (a 401 may renew the token and send again); no retries of transient failures."""
        url = self.url(endpoint)
        timeout = self.settings.timeout if timeout is None else timeout

        async def send(auth_headers: dict[str, str]) -> Answer:
            return await self._send(method, url, data=data, json=json, params=params,
                                    headers=(headers or {}) | auth_headers, timeout=timeout, log_bodies=log_bodies)

        if self.auth is not None and authorized:
            return await self.auth.send(send)
        return await send({})

    async def _send(self, method: str, url: str, *, data, json, params, headers, timeout: float,
                    log_bodies: bool) -> Answer:
        import aiohttp

        sent_at = await self.pacer.wait_turn(asyncio.sleep)
        debug = log_bodies and body_log.isEnabledFor(logging.DEBUG)
        try:
            async with self.session().request(method, url, data=data, json=json, params=params, headers=headers,
                                              timeout=aiohttp.ClientTimeout(total=timeout)) as response:
                text = (await response.read()).decode("utf-8", errors="replace")
                answer = answer_of(response.status, text, dict(response.headers))
        except (asyncio.TimeoutError, aiohttp.ClientError) as exc:
            self.stats.unanswered += 1
            if debug:
                log_exchange(method, url, json if json is not None else data, f"no answer ({type(exc).__name__})", None)
            raise _failure(exc, url, timeout) from exc
        self.stats.requests += 1
        self.stats.throttled += answer.status == 429
        self.pacer.answered(answer.status == 429, sent_at)
        if debug:
            log_exchange(method, url, json if json is not None else data, f"HTTP {answer.status}", text)
        return answer


def _failure(exc: Exception, url: str, timeout: float) -> Exception:
    """What a request that got no answer means: the vendor's trouble, or a URL that cannot work."""
    import aiohttp

    if isinstance(exc, asyncio.TimeoutError):
        return TransientError(f"timeout after {timeout:g}s")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return ConnectionConfigError(f"the host of {without_query(url)} cannot be resolved: check the connection's Host")
    if isinstance(exc, aiohttp.InvalidURL):
        return ConnectionConfigError(f"{without_query(url)} is not a usable URL: check the connection's Host")
    return TransientError(connection_failure(exc))


# What each failure of the connection means to a person; the rest say "the connection failed".
CONNECTION_FAILURES = {
    "AnswerLost": "the connection dropped after the request went out (the vendor may have acted on it)",
    "ServerDisconnectedError": "the vendor closed the connection before answering",
    "ClientConnectorError": "no connection to the vendor (refused or unreachable)",
    "ClientConnectorCertificateError": "the vendor's TLS certificate was not accepted",
    "ClientConnectorSSLError": "the TLS handshake with the vendor failed",
    "ClientPayloadError": "the vendor's answer broke off while it was read",
}


def connection_failure(exc: Exception) -> str:
    """A request's failure in words, never an internal class name (e.g. "AnswerLost")."""
    for cls in type(exc).__mro__:
        if cls.__name__ in CONNECTION_FAILURES:
            return f"connection failed: {CONNECTION_FAILURES[cls.__name__]}"
    return "connection failed: the connection to the vendor broke"


def _rounded(rate: float | None) -> float | None:
    return None if rate is None else round(rate, 1)
