"""Configuration of the vendor sandboxes.

Loaded from a JSON file (same shape as ``SandboxConfig.to_dict()``) and then
overridden by environment variables, so a CI job or ``make demo`` can switch
latency and faults on without editing files:

- ``ERP_OUTBOUND_SANDBOX_CONFIG``: path of the JSON file (used by ``load()``
  when no path is given).
- ``ERP_OUTBOUND_SANDBOX_LATENCY_MS``: ``latency_ms``.
- ``ERP_OUTBOUND_SANDBOX_FAULTS``: ``faults`` as JSON, replaces the file's.
- ``ERP_OUTBOUND_SANDBOX_SEED``: ``seed``.
- ``ERP_OUTBOUND_SANDBOX_SLOW_S`` / ``ERP_OUTBOUND_SANDBOX_RETRY_AFTER_S``.
- ``ERP_OUTBOUND_SANDBOX_PROCUROS_TOKENS``: comma-separated tokens.
- ``ERP_OUTBOUND_SANDBOX_PROCUROS_SPEC``: path of the Procuros OpenAPI spec.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

ENV_PREFIX = "ERP_OUTBOUND_SANDBOX_"

FAULT_KINDS = (
    "rate_limit",
    "rate_limit_no_header",
    "error_500",
    "error_502",
    "error_503",
    "slow",
    "reset",
    "accept_then_drop",
    "html_error",
    "truncated_json",
    "empty_200",
)


@dataclass
class ProcurosConfig:
    tokens: list[str] = field(default_factory=lambda: ["sandbox-token"])
    # Receiver GLN prefixes that Procuros cannot resolve / has no active relationship for.
    unknown_gln_prefixes: list[str] = field(default_factory=lambda: ["4098"])
    inactive_gln_prefixes: list[str] = field(default_factory=lambda: ["4099"])
    # When set, transaction bodies are also validated against this OpenAPI file.
    spec_path: str | None = None
    # Seed tasks: [{"procurosTaskId"?, "type", "payload"?, "createdAt"?}]
    tasks: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class SandboxConfig:
    seed: int = 0
    latency_ms: float = 0.0
    retry_after_s: int = 1
    slow_s: float = 30.0
    # endpoint name (e.g. "procuros.transactions", "procuros.*" or "*") -> fault kind -> probability
    faults: dict[str, dict[str, float]] = field(default_factory=dict)
    # Base of errorUrl / nextPageUrl links; None = taken from each request's Host.
    public_url: str | None = None
    access_log: bool = False
    procuros: ProcurosConfig = field(default_factory=ProcurosConfig)

    def __post_init__(self) -> None:
        validate_faults(self.faults)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SandboxConfig":
        data = dict(data)
        procuros = _build(ProcurosConfig, data.pop("procuros", None) or {}, "procuros")
        return _build(cls, {**data, "procuros": procuros}, "")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> "SandboxConfig":
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

    @classmethod
    def load(
        cls, path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
    ) -> "SandboxConfig":
        """File (argument or ERP_OUTBOUND_SANDBOX_CONFIG), then env overrides."""
        env = os.environ if env is None else env
        path = path or env.get(ENV_PREFIX + "CONFIG")
        config = cls.from_file(path) if path else cls()
        return config.with_env(env)

    def with_env(self, env: Mapping[str, str] | None = None) -> "SandboxConfig":
        env = os.environ if env is None else env
        data = self.to_dict()

        def get(name: str) -> str | None:
            value = env.get(ENV_PREFIX + name)
            return value if value not in (None, "") else None

        if (v := get("LATENCY_MS")) is not None:
            data["latency_ms"] = float(v)
        if (v := get("FAULTS")) is not None:
            data["faults"] = json.loads(v)
        if (v := get("SEED")) is not None:
            data["seed"] = int(v)
        if (v := get("SLOW_S")) is not None:
            data["slow_s"] = float(v)
        if (v := get("RETRY_AFTER_S")) is not None:
            data["retry_after_s"] = int(v)
        if (v := get("PROCUROS_TOKENS")) is not None:
            data["procuros"]["tokens"] = [t.strip() for t in v.split(",") if t.strip()]
        if (v := get("PROCUROS_SPEC")) is not None:
            data["procuros"]["spec_path"] = v
        return type(self).from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        return json.loads(json.dumps(asdict(self)))


def validate_faults(faults: Mapping[str, Mapping[str, float]]) -> None:
    if not isinstance(faults, Mapping):
        raise ValueError("faults must be a mapping endpoint -> {kind: probability}")
    for endpoint, table in faults.items():
        if not isinstance(table, Mapping):
            raise ValueError(f"faults[{endpoint!r}] must be a mapping kind -> probability")
        for kind, p in table.items():
            if kind not in FAULT_KINDS:
                raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
                raise ValueError(f"faults[{endpoint!r}][{kind!r}] must be a probability 0..1")
        # One draw per request picks at most one fault, so the table must fit in [0, 1].
        if sum(table.values()) > 1 + 1e-9:
            raise ValueError(f"fault probabilities for {endpoint!r} add up to more than 1")


def _build(cls: type, data: Mapping[str, Any], where: str) -> Any:
    if not isinstance(data, Mapping):
        raise ValueError(f"{where or 'config'} must be a JSON object")
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        # Fail loudly on typos instead of silently running with defaults.
        raise ValueError(f"unknown {where or 'sandbox'} config keys: {sorted(unknown)}")
    return cls(**data)
