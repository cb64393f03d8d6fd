"""HTTP answers and failure classes every vendor shares.

Vendors need the status code and body of each answer, and whether a failure is the
vendor's trouble (retry, then leave the document for the next run) or the connection's
(stop now). The requests themselves go through ``core.client.VendorClient``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.log import redact

# Request and response bodies go to this logger at DEBUG only, masked and cut to LOGGED_BODY_CHARS;
# INFO and WARNING lines never carry them. The task log shows them with logging_level DEBUG.
body_log = logging.getLogger("erp_outbound.http")
LOGGED_BODY_CHARS = 2000


class TransientError(Exception):
    """Not the document's fault (429, 5xx, timeout, broken answer): retry, then defer."""

    def __init__(self, reason: str, retry_after: float | None = None, status: int | None = None):
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.status = status


class ConnectionConfigError(AirflowFailException):
    """The connection is wrong (bad token, bad URL): fail now, retries cannot help."""


@dataclass
class Answer:
    """A vendor's answer: status, parsed JSON (None if absent or unreadable) and a short text."""

    status: int
    body: Any
    text: str
    headers: dict[str, str]

    @property
    def retry_after(self) -> float | None:
        return parse_retry_after(self.headers.get("Retry-After"))

    def message(self) -> str:
        if isinstance(self.body, dict) and self.body.get("message"):
            return str(self.body["message"])
        return self.text[:200] or f"HTTP {self.status}"


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds or as an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        from datetime import datetime, timezone

        return max(0.0, (parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds())
    except (TypeError, ValueError):
        return None


def answer_of(status: int, text: str, headers: dict[str, str]) -> Answer:
    """An answer from its parts; a body that is not JSON leaves ``body`` None."""
    try:
        body = json.loads(text) if text.strip() else None
    except ValueError:
        body = None
    return Answer(status, body, text[:500], headers)


def raise_for_transient(answer: Answer) -> None:
    """429, 408 and 5xx are the vendor's trouble, never the document's."""
    if answer.status == 408:
        raise TransientError("request timeout (408)", answer.retry_after, 408)
    if answer.status == 429:
        raise TransientError("rate limited (429)", answer.retry_after, 429)
    if answer.status >= 500:
        raise TransientError(f"vendor error {answer.status}: {answer.message()}", answer.retry_after, answer.status)


def loggable_body(body: Any) -> str:
    """A body as the DEBUG log shows it: every secret registered with mask_secret masked (in a dict
    also the values of keys such as ``password``), then cut to LOGGED_BODY_CHARS characters."""
    if body is None or body == b"" or body == "":
        return "(none)"
    if isinstance(body, bytes):
        body = body.decode("utf-8", errors="replace")
    if not isinstance(body, str):  # json= or form data
        body = json.dumps(redact(body), ensure_ascii=False, default=str)
    text = redact(body)
    if len(text) > LOGGED_BODY_CHARS:
        return f"{text[:LOGGED_BODY_CHARS]}... ({len(text)} characters)"
    return text


def log_exchange(method: str, url: str, sent: Any, outcome: str, answer_text: str | None) -> None:
    """One request and its answer in the DEBUG log, masked and cut."""
    body_log.debug("%s %s -> %s\nrequest body: %s\nresponse body: %s", method, redact(url), outcome,
                   loggable_body(sent), loggable_body(answer_text) if answer_text is not None else "(no answer)")


def without_query(url: str) -> str:
    return url.split("?", 1)[0]
