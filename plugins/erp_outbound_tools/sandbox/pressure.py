"""Vendor pressure: a real rate limit, and transient faults on first attempts only.

Both act before a request reaches its emulator, so a refused request is never processed:

- ``rate_limit``: a token bucket of ``requests_per_s`` (``burst`` tokens deep, by default a tenth
  of a second's worth) per vendor, per endpoint or for the whole sandbox. A request finding the
  bucket empty is answered 429 with ``Retry-After`` (``retry_after_s`` of the config).
- ``first_attempt_faults``: a ``share`` of first attempts gets one of ``kinds`` (429 with
  Retry-After, 500, 503, ...). An attempt is identified by method, path and a hash of its body
  (for Procuros the document, for RamBase the purchase order, for GEP the batch), so a retry of
  the same request is always let through. Whether an identity is faulted, and with which kind,
  is a hash of the seed and the identity: the same documents are hit in every run, whatever the
  order they arrive in. Requests refused by the rate limit are not attempts.

Endpoint patterns are the fault tables': an exact endpoint name, ``"<vendor>.*"`` or ``"*"``.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping

Clock = Callable[[], float]

RATE_LIMIT_SCOPES = ("vendor", "endpoint", "global")
# Faults a first attempt may get: answered at once, nothing processed.
FIRST_ATTEMPT_KINDS = ("rate_limit", "error_500", "error_502", "error_503", "html_error", "reset")


def matches(endpoint: str, patterns: list[str]) -> bool:
    return any(p == "*" or p == endpoint or (p.endswith(".*") and endpoint.startswith(p[:-1])) for p in patterns)


def _patterns(value: Any, where: str) -> None:
    if not isinstance(value, list) or not value or not all(isinstance(p, str) and p for p in value):
        raise ValueError(f"{where} must be a non-empty list of endpoint patterns (name, 'vendor.*' or '*')")


@dataclass
class RateLimitConfig:
    requests_per_s: float
    burst: int | None = None  # bucket depth; None = a tenth of requests_per_s (at least 1)
    scope: str = "vendor"  # one bucket per vendor, per endpoint, or one for everything
    endpoints: list[str] = field(default_factory=lambda: ["*"])

    def __post_init__(self) -> None:
        rate = self.requests_per_s
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or rate <= 0:
            raise ValueError("pressure.rate_limit.requests_per_s must be a positive number")
        if self.burst is not None and (isinstance(self.burst, bool) or not isinstance(self.burst, int)
                                       or self.burst < 1):
            raise ValueError("pressure.rate_limit.burst must be null or an integer >= 1")
        if self.scope not in RATE_LIMIT_SCOPES:
            raise ValueError(f"pressure.rate_limit.scope must be one of {', '.join(RATE_LIMIT_SCOPES)}")
        _patterns(self.endpoints, "pressure.rate_limit.endpoints")

    @property
    def depth(self) -> int:
        return self.burst if self.burst is not None else max(1, int(self.requests_per_s / 10))


@dataclass
class FirstAttemptFaultsConfig:
    share: float
    kinds: list[str] = field(default_factory=lambda: ["rate_limit", "error_500", "error_503"])
    endpoints: list[str] = field(default_factory=lambda: ["*"])

    def __post_init__(self) -> None:
        if isinstance(self.share, bool) or not isinstance(self.share, (int, float)) or not 0 <= self.share <= 1:
            raise ValueError("pressure.first_attempt_faults.share must be a probability 0..1")
        if not isinstance(self.kinds, list) or not self.kinds or any(k not in FIRST_ATTEMPT_KINDS for k in self.kinds):
            raise ValueError(f"pressure.first_attempt_faults.kinds must be a non-empty list of: "
                             f"{', '.join(FIRST_ATTEMPT_KINDS)}")
        _patterns(self.endpoints, "pressure.first_attempt_faults.endpoints")


@dataclass
class PressureConfig:
    rate_limit: RateLimitConfig | None = None
    first_attempt_faults: FirstAttemptFaultsConfig | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "PressureConfig":
        data = dict(data or {})
        unknown = set(data) - {"rate_limit", "first_attempt_faults"}
        if unknown:
            raise ValueError(f"unknown pressure config keys: {sorted(unknown)}")
        return cls(rate_limit=_section(RateLimitConfig, data.get("rate_limit"), "pressure.rate_limit"),
                   first_attempt_faults=_section(FirstAttemptFaultsConfig, data.get("first_attempt_faults"),
                                                 "pressure.first_attempt_faults"))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _section(cls: type, data: Any, where: str) -> Any:
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise ValueError(f"{where} must be a JSON object or null")
    try:
        return cls(**data)
    except TypeError as exc:  # unknown or missing keys
        raise ValueError(f"{where}: {exc}") from None


class TokenBucket:
    """``rate`` tokens a second, at most ``depth`` saved up; a request takes one or is refused."""

    def __init__(self, rate: float, depth: int, clock: Clock) -> None:
        self.rate, self.depth, self.clock = rate, depth, clock
        self.tokens = float(depth)
        self.last = clock()

    def take(self) -> bool:
        now = self.clock()
        self.tokens = min(self.depth, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1 - 1e-9:  # a whole token, give or take float rounding
            self.tokens = max(0.0, self.tokens - 1)
            return True
        return False


class Pressure:
    """The switches' state and counters; ``judge`` says what happens to one request."""

    def __init__(self, config: PressureConfig, seed: int, clock: Clock = time.monotonic) -> None:
        self.seed = seed
        self.clock = clock
        self.config = config
        self.reset()

    def set(self, config: PressureConfig) -> None:
        """Switch at run time (PUT /_sandbox/pressure): buckets start full, attempts seen are kept."""
        self.config = config
        self.buckets = {}

    def reset(self) -> None:
        self.buckets: dict[str, TokenBucket] = {}
        self.seen: set[str] = set()
        self.rate_limited: Counter[str] = Counter()
        self.first_attempt_faults: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.first_attempts = 0
        self.retried_attempts = 0

    def wants_body(self, endpoint: str) -> bool:
        faults = self.config.first_attempt_faults
        return faults is not None and faults.share > 0 and matches(endpoint, faults.endpoints)

    def judge(self, endpoint: str, method: str, path: str, body: bytes | None) -> str | None:
        """The fault kind this request gets from the switches, or None to let it through."""
        if not self._admitted(endpoint):
            self.rate_limited[endpoint] += 1
            return "rate_limit"
        if body is None or not self.wants_body(endpoint):
            return None
        identity = hashlib.sha256(b"%s %s\n%s" % (method.encode(), path.encode(), body)).hexdigest()
        if identity in self.seen:
            self.retried_attempts += 1
            return None
        self.seen.add(identity)
        self.first_attempts += 1
        faults = self.config.first_attempt_faults
        assert faults is not None
        draw = hashlib.sha256(f"{self.seed}:{identity}".encode()).digest()
        if int.from_bytes(draw[:8], "big") / 2**64 >= faults.share:
            return None
        kind = faults.kinds[draw[8] % len(faults.kinds)]
        self.first_attempt_faults[endpoint][kind] += 1
        return kind

    def _admitted(self, endpoint: str) -> bool:
        limit = self.config.rate_limit
        if limit is None or not matches(endpoint, limit.endpoints):
            return True
        key = {"vendor": endpoint.split(".", 1)[0], "endpoint": endpoint, "global": "*"}[limit.scope]
        bucket = self.buckets.get(key)
        if bucket is None:
            bucket = self.buckets[key] = TokenBucket(limit.requests_per_s, limit.depth, self.clock)
        return bucket.take()

    def snapshot(self) -> dict[str, Any]:
        return {
            "config": self.config.to_dict(),
            "rate_limited": dict(self.rate_limited),
            "first_attempt_faults": {e: dict(c) for e, c in self.first_attempt_faults.items()},
            "first_attempts": self.first_attempts,
            "retried_attempts": self.retried_attempts,
        }
