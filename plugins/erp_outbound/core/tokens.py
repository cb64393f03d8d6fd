"""Short-lived access tokens shared by every sender thread of a hook.

A token is fetched once, reused until shortly before it expires, and renewed once when
the vendor answers 401. Each request reads the current token, so a renewal reaches every
session at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import requests

from erp_outbound.core.http import Answer

RENEW_BEFORE_SECONDS = 60  # renew this long before the vendor says the token expires


class TokenCache:
    def __init__(self, fetch: Callable[[], tuple[str, float]]):
        """``fetch`` returns (token, lifetime in seconds)."""
        self._fetch = fetch
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self.grants = 0

    def get(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._expires_at:
                token, lifetime = self._fetch()
                self._token = token
                self._expires_at = time.monotonic() + max(0.0, lifetime - RENEW_BEFORE_SECONDS)
                self.grants += 1
            return self._token

    def renew(self, used: str | None) -> None:
        """Forget ``used`` (unless another thread already renewed it)."""
        with self._lock:
            if self._token == used:
                self._token = None


class TokenAuth(requests.auth.AuthBase):
    """``Authorization: Bearer <current token>`` on every request."""

    def __init__(self, cache: TokenCache):
        self.cache = cache

    def __call__(self, prepared: requests.PreparedRequest) -> requests.PreparedRequest:
        prepared.headers["Authorization"] = f"Bearer {self.cache.get()}"
        return prepared

    def __repr__(self) -> str:  # never show the token
        return "TokenAuth(***)"


def call_renewing(cache: TokenCache, send: Callable[[], Answer], refused: Callable[[], Exception]) -> Answer:
    """``send()``; on a 401 renew the token and send once more; a second 401 raises ``refused()``."""
    for _ in range(2):
        used = cache.get()
        answer = send()
        if answer.status != 401:
            return answer
        cache.renew(used)
    raise refused()
