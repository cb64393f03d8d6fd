"""Access tokens an emulator issued: each one expires, and may stop working after N API calls."""

from __future__ import annotations

import time
from collections.abc import Iterator


class IssuedTokens:
    def __init__(self) -> None:
        self._tokens: dict[str, list[float]] = {}  # token -> [expires at (monotonic), API calls]

    def issue(self, token: str, lifetime_s: float) -> str:
        self._tokens[token] = [time.monotonic() + lifetime_s, 0]
        return token

    def use(self, token: str | None, limit: int | None) -> bool:
        """True, and the call counted, when ``token`` is issued, unexpired and not used up."""
        entry = self._tokens.get(token) if token else None
        if entry is None or time.monotonic() >= entry[0]:
            return False
        if limit is not None and entry[1] >= limit:
            return False
        entry[1] += 1
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._tokens)
