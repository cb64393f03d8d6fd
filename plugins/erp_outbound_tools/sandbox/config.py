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
- ``ERP_OUTBOUND_SANDBOX_PRESSURE``: ``pressure`` as JSON, replaces the file's (see pressure.py).
- ``ERP_OUTBOUND_SANDBOX_RATE_LIMIT``: ``pressure.rate_limit.requests_per_s`` (its other
  settings as before, or their defaults); ``ERP_OUTBOUND_SANDBOX_FIRST_ATTEMPT_FAULTS``:
  ``pressure.first_attempt_faults.share`` likewise. 0 switches either off.
- ``ERP_OUTBOUND_SANDBOX_PROCUROS_TOKENS``: comma-separated tokens.
- ``ERP_OUTBOUND_SANDBOX_PROCUROS_SPEC``: path of the Procuros OpenAPI spec (default: the one the package
  ships, or PROCUROS_OPENAPI_SPEC).
- ``ERP_OUTBOUND_SANDBOX_PROCUROS_VALIDATE``: ``false`` stops validating received transactions against it.
- ``ERP_OUTBOUND_SANDBOX_RAMBASE_<KEY>``: one ``rambase`` setting, for KEY in DB,
  CLIENT_ID, CLIENT_SECRET, USERNAME, PASSWORD, TOKEN_TTL_S, REVOKE_AFTER_REQUESTS,
  WRAP_ERRORS (true/false), POLLS_TO_FINISH, PROGRESS_KEY.
- ``ERP_OUTBOUND_SANDBOX_GEP_<KEY>``: one ``gep`` setting, for KEY in AUTH_KEY,
  SUBSCRIPTION_KEY, TOKEN_MINUTES, REVOKE_AFTER_REQUESTS, MAX_BATCH_ITEMS, and the comma-separated
  lists QUIRKS, INVALID_KEY_PREFIXES, EXCEPTION_KEY_PREFIXES, DROP_KEY_PREFIXES.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

from .credentials import DEMO
from .pressure import PressureConfig

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
    "accept_then_html",
    "html_error",
    "truncated_json",
    "garbled_body",
    "empty_200",
)


@dataclass
class ProcurosConfig:
    tokens: list[str] = field(default_factory=lambda: [DEMO.procuros_token])
    # Receiver GLN prefixes that Procuros cannot resolve / has no active relationship for.
    unknown_gln_prefixes: list[str] = field(default_factory=lambda: ["4098"])
    inactive_gln_prefixes: list[str] = field(default_factory=lambda: ["4099"])
    # Every received transaction is validated against Procuros' OpenAPI description, as Procuros does: the
    # one the package ships (procuros/contract/, or PROCUROS_OPENAPI_SPEC), or this file when set.
    spec_path: str | None = None
    # False: only the sandbox's own rules (type, parties, identifiers). For throughput runs: validation costs
    # the sandbox 5-6 ms of CPU per transaction (measured: docs/platform/install.md).
    validate_against_spec: bool = True
    # Seed tasks: [{"procurosTaskId"?, "type", "payload"?, "createdAt"?}]
    tasks: list[dict[str, Any]] = field(default_factory=list)
    # The status GET /v2/all-transactions shows for a transaction taken with 201 / 202 (the spec
    # gives the statuses no meaning); one transaction's status can be changed at runtime.
    transaction_statuses: dict[str, str] = field(default_factory=lambda: {"201": "SUCCESS", "202": "DROPPED"})

    def __post_init__(self) -> None:
        statuses = self.transaction_statuses
        if (not isinstance(statuses, dict) or set(statuses) != {"201", "202"}
                or any(v not in TRANSACTION_STATUSES for v in statuses.values())):
            raise ValueError(f"procuros.transaction_statuses must map \"201\" and \"202\" to one of "
                             f"{', '.join(TRANSACTION_STATUSES)}")


TRANSACTION_STATUSES = ("PENDING", "SUCCESS", "FAILED", "DROPPED", "UNKNOWN")  # Procuros' TransactionStatus
PROGRESS_KEYS = ("percentComplete", "PercentageComplete")  # the seed's and RamBase's SDK spelling


@dataclass
class RambaseConfig:
    db: str = DEMO.rambase_db  # every API call must carry $db=<db>
    client_id: str = DEMO.rambase_client_id
    client_secret: str = DEMO.rambase_client_secret
    username: str = "sandbox-user"
    password: str = "sandbox-password"
    token_ttl_s: float = 3600
    # A token stops working after this many API calls (tests a client's refresh on 401).
    revoke_after_requests: int | None = None
    wrap_errors: bool = False  # error bodies as {"error": {...}}
    polls_to_finish: int = 3  # GETs before a slow operation instance ends
    progress_key: str = "percentComplete"
    # Deterministic outcomes by document id: inclusive [low, high] ranges.
    order_not_found_ids: list[int] = field(default_factory=lambda: [190000, 199999])
    order_currency_ids: list[int] = field(default_factory=lambda: [180000, 189999])
    order_currency: str = "USD"  # the only currency the orders of order_currency_ids accept
    order_forbidden_ids: list[int] = field(default_factory=lambda: [170000, 170999])
    operation_slow_ids: list[int] = field(default_factory=lambda: [150000, 159999])
    operation_failing_ids: list[int] = field(default_factory=lambda: [160000, 169999])
    # Checked before operation_failing_ids, which it may lie inside.
    operation_failed_ids: list[int] = field(default_factory=lambda: [168000, 168999])
    # Duties the API client lacks, by endpoint name (e.g. "rambase.orders_list"): every call
    # there is refused with 403 "Missing duty: <duty>", as RamBase refuses a client set up for
    # another job. Switched at runtime with PUT /_sandbox/rambase/duties.
    missing_duties: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.missing_duties, dict) or not all(
                isinstance(k, str) and k.startswith("rambase.") and isinstance(v, str) and v
                for k, v in self.missing_duties.items()):
            raise ValueError("rambase.missing_duties must map rambase.<endpoint> names to duty names")
        if self.progress_key not in PROGRESS_KEYS:
            raise ValueError(f"rambase.progress_key must be one of {PROGRESS_KEYS}")
        ttl = self.token_ttl_s
        if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or ttl <= 0:
            raise ValueError("rambase.token_ttl_s must be a positive number of seconds")
        if self.revoke_after_requests is not None and not _is_int(self.revoke_after_requests, 1):
            raise ValueError("rambase.revoke_after_requests must be null or an integer >= 1")
        if not _is_int(self.polls_to_finish, 0):
            raise ValueError("rambase.polls_to_finish must be an integer >= 0")
        for f in fields(self):
            if f.name.endswith("_ids"):
                bounds = getattr(self, f.name)
                if not (isinstance(bounds, list) and len(bounds) == 2 and all(_is_int(b, 0) for b in bounds)
                        and bounds[0] <= bounds[1]):
                    raise ValueError(f"rambase.{f.name} must be [low, high] integers")


# Inconsistencies of GEP's published examples (see VENDOR_NOTES.md), switched on one by one.
GEP_QUIRKS = (
    "error_detail_singular",  # the error list is named errorDetail, not errorDetails
    "status_400_on_success",  # statusCode "400" although every key succeeded
    "status_200_with_errors",  # statusCode "200" although some keys failed
    "drop_keys",  # keys of drop_key_prefixes are in neither list (unknown: retry them)
)


@dataclass
class GepConfig:
    auth_key: str = DEMO.gep_auth_key  # gep-auth-key header of GET /token/gep
    # When set, Ocp-Apim-Subscription-Key must carry it on the token request and on every API call.
    subscription_key: str | None = None
    token_minutes: float = 120  # the token answer's Expires; fractions shorten it for tests
    # A token stops working after this many API calls (tests a client's refresh on 401).
    revoke_after_requests: int | None = None
    # Deterministic per-key outcomes, by (case-sensitive) key prefix.
    invalid_key_prefixes: list[str] = field(default_factory=lambda: ["X"])  # DataValidation
    exception_key_prefixes: list[str] = field(default_factory=lambda: ["E"])  # SystemException + DataException
    drop_key_prefixes: list[str] = field(default_factory=lambda: ["Z"])  # only with the drop_keys quirk
    quirks: list[str] = field(default_factory=list)
    # At most this many items per acknowledgement PUT; a bigger batch is refused as a whole
    # (HTTP 400, an error naming no key). Switched at runtime with PUT /_sandbox/gep/batch-limit.
    max_batch_items: int | None = None

    def __post_init__(self) -> None:
        if self.max_batch_items is not None and not _is_int(self.max_batch_items, 1):
            raise ValueError("gep.max_batch_items must be null or an integer >= 1")
        if not isinstance(self.auth_key, str) or not self.auth_key:
            raise ValueError("gep.auth_key must be a non-empty string")
        if self.subscription_key is not None and (not isinstance(self.subscription_key, str)
                                                  or not self.subscription_key):
            raise ValueError("gep.subscription_key must be null or a non-empty string")
        minutes = self.token_minutes
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes <= 0:
            raise ValueError("gep.token_minutes must be a positive number of minutes")
        if self.revoke_after_requests is not None and not _is_int(self.revoke_after_requests, 1):
            raise ValueError("gep.revoke_after_requests must be null or an integer >= 1")
        for name in ("invalid_key_prefixes", "exception_key_prefixes", "drop_key_prefixes"):
            prefixes = getattr(self, name)
            # An empty prefix would match every key.
            if not isinstance(prefixes, list) or not all(isinstance(p, str) and p for p in prefixes):
                raise ValueError(f"gep.{name} must be a list of non-empty strings")
        if not isinstance(self.quirks, list) or any(q not in GEP_QUIRKS for q in self.quirks):
            raise ValueError(f"gep.quirks must be a list of: {', '.join(GEP_QUIRKS)}")


def _is_int(value: Any, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


# ERP_OUTBOUND_SANDBOX_RAMBASE_<NAME> -> rambase setting, parser
_RAMBASE_ENV = {
    "DB": ("db", str),
    "CLIENT_ID": ("client_id", str),
    "CLIENT_SECRET": ("client_secret", str),
    "USERNAME": ("username", str),
    "PASSWORD": ("password", str),
    "TOKEN_TTL_S": ("token_ttl_s", float),
    "REVOKE_AFTER_REQUESTS": ("revoke_after_requests", int),
    "WRAP_ERRORS": ("wrap_errors", _bool),
    "POLLS_TO_FINISH": ("polls_to_finish", int),
    "PROGRESS_KEY": ("progress_key", str),
}


def _csv(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


# ERP_OUTBOUND_SANDBOX_GEP_<NAME> -> gep setting, parser
_GEP_ENV = {
    "AUTH_KEY": ("auth_key", str),
    "SUBSCRIPTION_KEY": ("subscription_key", str),
    "TOKEN_MINUTES": ("token_minutes", float),
    "REVOKE_AFTER_REQUESTS": ("revoke_after_requests", int),
    "QUIRKS": ("quirks", _csv),
    "INVALID_KEY_PREFIXES": ("invalid_key_prefixes", _csv),
    "EXCEPTION_KEY_PREFIXES": ("exception_key_prefixes", _csv),
    "DROP_KEY_PREFIXES": ("drop_key_prefixes", _csv),
    "MAX_BATCH_ITEMS": ("max_batch_items", int),
}


@dataclass
class SandboxConfig:
    seed: int = 0
    latency_ms: float = 0.0
    retry_after_s: int = 1
    slow_s: float = 30.0
    # endpoint name (e.g. "procuros.transactions", "procuros.*" or "*") -> fault kind -> probability
    faults: dict[str, dict[str, float]] = field(default_factory=dict)
    # {"rate_limit": {"requests_per_s", "burst"?, "scope"?, "endpoints"?} | null,
    #  "first_attempt_faults": {"share", "kinds"?, "endpoints"?} | null}: see pressure.py
    pressure: dict[str, Any] = field(default_factory=dict)
    # Base of errorUrl / nextPageUrl links; None = taken from each request's Host.
    public_url: str | None = None
    access_log: bool = False
    procuros: ProcurosConfig = field(default_factory=ProcurosConfig)
    rambase: RambaseConfig = field(default_factory=RambaseConfig)
    gep: GepConfig = field(default_factory=GepConfig)

    def __post_init__(self) -> None:
        validate_faults(self.faults)
        PressureConfig.from_dict(self.pressure)  # fails loudly on a bad switch

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "SandboxConfig":
        data = dict(data)
        procuros = _build(ProcurosConfig, data.pop("procuros", None) or {}, "procuros")
        rambase = _build(RambaseConfig, data.pop("rambase", None) or {}, "rambase")
        gep = _build(GepConfig, data.pop("gep", None) or {}, "gep")
        return _build(cls, {**data, "procuros": procuros, "rambase": rambase, "gep": gep}, "")

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
        if (v := get("PRESSURE")) is not None:
            data["pressure"] = json.loads(v)
        for name, section, key in (("RATE_LIMIT", "rate_limit", "requests_per_s"),
                                   ("FIRST_ATTEMPT_FAULTS", "first_attempt_faults", "share")):
            if (v := get(name)) is not None:
                value = float(v)
                current = data["pressure"].get(section) or {}
                data["pressure"][section] = (current | {key: value}) if value > 0 else None
        if (v := get("PROCUROS_TOKENS")) is not None:
            data["procuros"]["tokens"] = [t.strip() for t in v.split(",") if t.strip()]
        if (v := get("PROCUROS_SPEC")) is not None:
            data["procuros"]["spec_path"] = v
        if (v := get("PROCUROS_VALIDATE")) is not None:
            data["procuros"]["validate_against_spec"] = _bool(v)
        for name, (key, parse) in _RAMBASE_ENV.items():
            if (v := get("RAMBASE_" + name)) is not None:
                data["rambase"][key] = parse(v)
        for name, (key, parse) in _GEP_ENV.items():
            if (v := get("GEP_" + name)) is not None:
                data["gep"][key] = parse(v)
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
