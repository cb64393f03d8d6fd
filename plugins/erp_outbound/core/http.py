"""HTTP plumbing all vendors share: the hook base, answers, and the failure classes.

HttpHook raises a bare exception for every non-2xx answer and sends every unknown
connection extra as a header. Vendors need the status code and body of each answer,
and our extras tune delivery, so this base class takes the session from HttpHook but
reads the answers itself.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from airflow.providers.http.hooks.http import HttpHook
from airflow.sdk.exceptions import AirflowFailException
from airflow.sdk.log import redact
from requests.auth import AuthBase
from requests_toolbelt.adapters.socket_options import TCPKeepAliveAdapter

from erp_outbound.core.delivery_settings import DeliverySettings

# Connection extras that tune erp-outbound and must never be sent as HTTP headers.
TUNING_EXTRAS = frozenset(DeliverySettings.extra_names())

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


class BearerAuth(AuthBase):
    def __init__(self, token: str):
        self._token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._token}"
        return request

    def __repr__(self) -> str:  # never show the token
        return "BearerAuth(***)"


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


def read_answer(response: requests.Response) -> Answer:
    return answer_of(response.status_code, response.text or "", dict(response.headers))


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


def _log_exchange(method: str, url: str, kwargs: dict, outcome: str, answer_text: str | None) -> None:
    sent = kwargs.get("json") if kwargs.get("json") is not None else kwargs.get("data")
    body_log.debug("%s %s -> %s\nrequest body: %s\nresponse body: %s", method, redact(url), outcome,
                   loggable_body(sent), loggable_body(answer_text) if answer_text is not None else "(no answer)")


def request(session: requests.Session, method: str, url: str, timeout: float, *, log_bodies: bool = True,
            **kwargs) -> Answer:
    """One HTTP request; network failures become TransientError, a URL that cannot work a config error.

    With DEBUG logging on, the request and its answer go to the log (``log_bodies=False`` for
    token requests, whose bodies are credentials).
    """
    debug = log_bodies and body_log.isEnabledFor(logging.DEBUG)
    try:
        response = _send(session, method, url, timeout, **kwargs)
    except Exception as exc:
        if debug:
            _log_exchange(method, url, kwargs, f"no answer ({redact(str(exc))})", None)
        raise
    if debug:
        _log_exchange(method, response.url or url, kwargs, f"HTTP {response.status_code}", response.text or "")
    return read_answer(response)


def _send(session: requests.Session, method: str, url: str, timeout: float, **kwargs) -> requests.Response:
    try:
        return session.request(method, url, timeout=timeout, **kwargs)
    except requests.Timeout as exc:
        raise TransientError(f"timeout after {timeout:g}s") from exc
    except requests.ConnectionError as exc:
        if _unresolvable(exc):
            raise ConnectionConfigError(f"the host of {_without_query(url)} cannot be resolved: check the "
                                        "connection's Host") from exc
        raise TransientError(f"connection failed: {type(exc).__name__}") from exc
    except (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
            requests.exceptions.InvalidSchema) as exc:
        raise ConnectionConfigError(f"{_without_query(url)} is not a usable URL: check the connection's Host") from exc


def _unresolvable(exc: BaseException) -> bool:
    """A name that does not resolve is a wrong Host, not an outage."""
    from urllib3.exceptions import NameResolutionError

    seen = exc
    while seen is not None:
        if isinstance(seen, NameResolutionError) or isinstance(getattr(seen, "reason", None), NameResolutionError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


class VendorHttpHook(HttpHook):
    """HttpHook with Bearer auth from the connection password and delivery settings from its extras."""

    # Extras that configure the hook itself and must never go out as HTTP headers.
    private_extras: frozenset[str] = frozenset()

    def __init__(self, conn_id: str, method: str = "POST", **kwargs: Any) -> None:
        super().__init__(method=method, http_conn_id=conn_id, **kwargs)

    @property
    def connection(self):
        if not hasattr(self, "_connection"):
            self._connection = self.get_connection(self.http_conn_id)
        return self._connection

    @property
    def name(self) -> str:
        """How messages name the connection, e.g. "RamBase connection 'rambase_default'"."""
        return f"{self.hook_name} connection {self.http_conn_id!r}"

    @property
    def extras(self) -> dict:
        return own_extras(self.connection.extra_dejson)

    def _configure_session_from_extra(self, session, connection, extra_options):
        # Keep our tuning extras out of the headers HttpHook builds from extras.
        filtered = _ConnectionWithoutTuning(connection, TUNING_EXTRAS | self.private_extras)
        return super()._configure_session_from_extra(session, filtered, extra_options)

    def _configure_session_from_mount_adapters(self, session):
        # A fresh adapter per session: HttpHook shares one, whose small pool drops
        # kept-alive connections when many sender threads use it at once.
        adapter = TCPKeepAliveAdapter(idle=120, count=20, interval=30, pool_maxsize=4)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session

    def delivery_settings(self) -> DeliverySettings:
        return DeliverySettings.from_extras(self.connection.extra_dejson)

    def url(self, endpoint: str) -> str:
        return self.url_from_endpoint(endpoint)

    def describe(self) -> str:
        return f"connection {self.http_conn_id!r} ({self.base_url or self.connection.host})"


def own_extras(extras: dict) -> dict:
    """Extras by plain name: the UI form may store them as extra__<conn type>__<name>."""
    return {key.rsplit("__", 1)[-1]: value for key, value in extras.items()}


class _ConnectionWithoutTuning:
    """A view of a connection whose extras leave out the keys erp-outbound itself reads."""

    def __init__(self, connection, hidden: frozenset[str]):
        self._connection = connection
        self._hidden = hidden

    @property
    def extra_dejson(self) -> dict:
        return {
            k: v for k, v in self._connection.extra_dejson.items()
            if k.rsplit("__", 1)[-1] not in self._hidden and not k.startswith("extra__")
        }

    def __getattr__(self, name):
        return getattr(self._connection, name)
