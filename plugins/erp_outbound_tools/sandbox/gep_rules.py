"""GEP SMART acknowledgement rules: request shape, per-key outcomes and the answer body.

Pure functions, no HTTP: ``gep.py`` calls them. The body is ``{"model": [item, ...]}``
where an item has the string (or null) fields of ``MODEL_FIELDS``; only ``key`` is
required. Unknown fields are ignored, as ASP.NET's model binding does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .config import GepConfig

# The acknowledgement paths under /SmartInterfaceAPI/api/: {document}/{action}.
STATUS_PATHS = (
    "Order/PORStatus",
    "Order/OrderStatus",
    "Invoice/InvoiceStatus",
    "Receipt/ReceiptStatus",
    "Contract/ContractStatus",
    "CreditMemo/CreditMemoStatus",
)
API_PREFIX = "/SmartInterfaceAPI/api/"
MODEL_FIELDS = ("key", "description", "status", "sourceSystemName", "sourceSystemValue", "lob", "errorCode")

Error = dict[str, str]  # {"errorCode", "errorDescription"}

MANDATORY: list[Error] = [{"errorCode": "MandatoryField", "errorDescription": "Key is mandatory"}]
INVALID_KEY: list[Error] = [{"errorCode": "DataValidation", "errorDescription": "Invalid Order Number"}]
EXCEPTION: list[Error] = [
    {"errorCode": "SystemException", "errorDescription": "An unexpected error occurred while processing the request"},
    {"errorCode": "DataException", "errorDescription": "The status could not be saved"},
]


def bad_request() -> dict[str, Any]:
    """The answer (HTTP 400) to a body that is not ``{"model": [item, ...]}``."""
    return {
        "data": None,
        "statusCode": "400",
        "errorDetails": [
            {"key": None, "errors": [{"errorCode": "DataValidation", "errorDescription": "Invalid request"}]}
        ],
        "successDetails": [],
    }


def too_many_items(limit: int) -> dict[str, Any]:
    """The answer (HTTP 400) to a batch above the limit: one error naming no key, no per-key answer."""
    description = f"The request exceeds the maximum of {limit} items per request"
    return {
        "data": None,
        "statusCode": "400",
        "errorDetails": [{"key": None, "errors": [{"errorCode": "DataValidation", "errorDescription": description}]}],
        "successDetails": [],
    }


def unauthorized() -> dict[str, Any]:
    return {"data": None, "statusCode": "401", "errorDetails": [], "successDetails": [], "message": "Unauthorized"}


def model_items(body: Any) -> list[dict[str, Any]] | None:
    """The items of a well-formed body, else None (answered 400)."""
    if not isinstance(body, dict) or not isinstance(body.get("model"), list):
        return None
    items = body["model"]
    for item in items:
        if not isinstance(item, dict):
            return None
        # The fields are strings: a number or an object does not bind.
        if any(item.get(name) is not None and not isinstance(item[name], str) for name in MODEL_FIELDS):
            return None
    return items


def keys_of(body: Any) -> list[Any]:
    """The keys a body carries, as far as it can be read (for the record of every PUT)."""
    model = body.get("model") if isinstance(body, dict) else None
    if not isinstance(model, list):
        return []
    return [item.get("key") if isinstance(item, dict) else None for item in model]


@dataclass
class Outcome:
    """Per-key results of one acknowledgement batch."""

    succeeded: list[str] = field(default_factory=list)
    failed: list[tuple[str, list[Error]]] = field(default_factory=list)  # (key, errors); "" = no key
    dropped: list[str] = field(default_factory=list)


def judge(items: list[dict[str, Any]], config: GepConfig) -> Outcome:
    """Decide each item by its key: mandatory, invalid, exception, dropped (quirk) or success."""
    outcome = Outcome()
    invalid = tuple(config.invalid_key_prefixes)
    exception = tuple(config.exception_key_prefixes)
    drop = tuple(config.drop_key_prefixes) if "drop_keys" in config.quirks else ()
    for item in items:
        key = item.get("key")
        if key is None or not key.strip():
            outcome.failed.append(("", MANDATORY))
        elif key.startswith(invalid):
            outcome.failed.append((key, INVALID_KEY))
        elif key.startswith(exception):
            outcome.failed.append((key, EXCEPTION))
        elif drop and key.startswith(drop):
            outcome.dropped.append(key)
        else:
            outcome.succeeded.append(key)
    return outcome


def answer(outcome: Outcome, quirks: list[str]) -> dict[str, Any]:
    """The HTTP 200 answer to a batch; statusCode is a string and follows the quirks."""
    has_errors = bool(outcome.failed)
    status = "400" if has_errors else "200"
    if not has_errors and "status_400_on_success" in quirks:
        status = "400"
    if has_errors and "status_200_with_errors" in quirks:
        status = "200"
    errors_name = "errorDetail" if "error_detail_singular" in quirks else "errorDetails"
    return {
        "data": None,
        "statusCode": status,
        errors_name: [{"key": key, "errors": [dict(e) for e in errors]} for key, errors in outcome.failed],
        "successDetails": [{"key": key} for key in outcome.succeeded],
    }
