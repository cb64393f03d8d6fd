"""Short-lived access tokens shared by every request of a client, renewed one at a time.

A token is fetched once and reused until a share of its lifetime has passed: 80% for
lifetimes of 60 s or less, otherwise until 60 s before it expires. A renewal is single
flight: while one request fetches, the others wait for its token. A 401 renews only if
the token that failed is still the current one, so a burst of 401s costs one renewal.
A 401 is a configuration error only for a token fetched after the request started that
the vendor never accepted, and only when the fresh token this request was refused before is
still unaccepted too: two fresh tokens refused in a row mean wrong credentials, not tokens
that died of age or use (a token the vendor accepted once and refuses later has died).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from erp_outbound.core.http import Answer, TransientError

RENEW_BEFORE_SECONDS = 60  # long lifetimes: renew this long before they end
SHORT_LIFETIME_SHARE = 0.8  # lifetimes up to RENEW_BEFORE_SECONDS: renew after this share
MAX_RENEWALS_PER_REQUEST = 5  # tokens dying this often: leave the document for later


def renew_after(lifetime: float) -> float:
    """Seconds after its fetch that a token of ``lifetime`` seconds is renewed."""
    if lifetime <= RENEW_BEFORE_SECONDS:
        return SHORT_LIFETIME_SHARE * lifetime
    return lifetime - RENEW_BEFORE_SECONDS


@dataclass(eq=False)
class Token:
    value: str
    serial: int  # the how-manieth fetch of its cache
    renew_at: float
    accepted: bool = False  # the vendor answered a request with it with something other than 401

    def __repr__(self) -> str:  # never show the token
        return f"Token(#{self.serial}, ***)"


class TokenUnavailable(TransientError):
    """No token could be fetched: the request that needed it was never sent."""


class TokenCache:
    def __init__(self, fetch: Callable[[], Awaitable[tuple[str, float]]], clock: Callable[[], float] = time.monotonic):
        """``fetch()`` returns (token, lifetime in seconds) and masks the token."""
        self._fetch = fetch
        self.clock = clock
        self._token: Token | None = None
        self._lock = asyncio.Lock()
        self.grants = 0  # tokens fetched

    async def current(self) -> Token:
        token = self._token
        if token is not None and self.clock() < token.renew_at:
            return token
        async with self._lock:
            if self._token is token or self.clock() >= self._token.renew_at:  # nobody renewed while we waited
                await self._renew()
            return self._token

    async def renew(self, failed: Token) -> None:
        """Replace ``failed`` unless another request already did."""
        async with self._lock:
            if self._token is failed:
                await self._renew()

    async def _renew(self) -> None:
        try:
            value, lifetime = await self._fetch()
        except TokenUnavailable:
            raise
        except TransientError as exc:
            raise TokenUnavailable(f"no token: {exc.reason}", exc.retry_after, exc.status) from exc
        self.grants += 1
        self._token = Token(value, self.grants, self.clock() + renew_after(lifetime))


class TokenAuth:
    """``Authorization: Bearer <token>`` from a TokenCache, with the 401 rules above."""

    def __init__(self, cache: TokenCache, refused: Callable[[Answer], Exception]):
        self.cache = cache
        self.refused = refused  # the configuration error for a fresh token the vendor refuses

    async def send(self, send: Callable[[dict[str, str]], Awaitable[Answer]]) -> Answer:
        started = self.cache.grants  # tokens with a higher serial were fetched after this request started
        refused_fresh: Token | None = None
        renewals = 0
        while True:
            token = await self.cache.current()
            answer = await send({"Authorization": f"Bearer {token.value}"})
            if answer.status != 401:
                token.accepted = True
                return answer
            if token.serial > started and not token.accepted:
                # Checked again only after a renewal's round trip: any answer that accepted the earlier
                # token has been read by then.
                if refused_fresh is not None and not refused_fresh.accepted:
                    raise self.refused(answer)
                refused_fresh = token
            renewals += 1
            if renewals > MAX_RENEWALS_PER_REQUEST:
                raise TransientError(f"tokens were refused {renewals} times in one request (HTTP 401)", status=401)
            await self.cache.renew(token)
