"""How hard erp-outbound may push a vendor: read from the vendor connection's extras."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from erp_outbound.core.breaker import OutageBreaker


@dataclass(frozen=True)
class DeliverySettings:
    max_concurrency: int = 16  # requests in flight at once
    max_requests_per_second: float = 0.0  # 0 = no rate limit
    timeout: float = 30.0  # seconds per request
    max_tries: int = 5  # per document, for transient failures
    max_retry_wait: float = 60.0  # longest single wait between tries, seconds
    backoff_initial: float = 0.5  # first wait when the vendor gives no Retry-After
    # The outage breaker (core/breaker.py): the vendor is down once breaker_failure_rate of the last
    # breaker_window tries failed (after at least breaker_min_tries); the rest is left for the next run.
    breaker_window: int = 40
    breaker_min_tries: int = 20
    breaker_failure_rate: float = 0.9

    @classmethod
    def extra_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_extras(cls, extras: dict[str, Any]) -> DeliverySettings:
        # The UI form may store fields as extra__<conn type>__<name>.
        extras = {key.rsplit("__", 1)[-1]: value for key, value in extras.items()}
        values = {}
        for f in fields(cls):
            if extras.get(f.name) not in (None, ""):
                try:
                    values[f.name] = type(f.default)(extras[f.name])
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"connection extra {f.name!r} must be a number, got {extras[f.name]!r}") from exc
        settings = cls(**values)
        if settings.max_concurrency < 1 or settings.max_tries < 1:
            raise ValueError("max_concurrency and max_tries must be at least 1")
        settings.breaker()  # its own checks name the extra and the value
        return settings

    def breaker(self) -> OutageBreaker:
        """A new outage breaker with these settings (core/breaker.py)."""
        try:
            return OutageBreaker(window=self.breaker_window, min_tries=self.breaker_min_tries,
                                 failure_rate=self.breaker_failure_rate)
        except ValueError as exc:
            raise ValueError(f"connection extras: {exc}") from None
