"""RambaseHook: the RamBase REST API behind a ``rambase`` connection.

host = base URL (https://api.rambase.net), login = client id, password = client secret;
extras: grant_type (client_credentials | password), username and user_password for the
password grant, db (the $db company) and an optional target. The token comes from
POST /oauth2/access_token, is cached until shortly before it expires, and is refreshed
once on a 401 (core/tokens.py). It goes in ``Authorization: Bearer``, never in ``$access_token``.
"""

from __future__ import annotations

from typing import Any

import requests
from airflow.sdk.log import mask_secret

from erp_outbound.core.http import (
    Answer,
    ConnectionConfigError,
    TransientError,
    VendorHttpHook,
    raise_for_transient,
    request,
)
from erp_outbound.core.tokens import TokenAuth, TokenCache, call_renewing
from erp_outbound.rambase.errors import parse_error


class RambaseHook(VendorHttpHook):
    conn_name_attr = "rambase_conn_id"
    default_conn_name = "rambase_default"
    conn_type = "rambase"
    hook_name = "RamBase"
    default_host = "https://api.rambase.net"
    private_extras = frozenset({"grant_type", "username", "user_password", "db", "target"})

    def __init__(self, rambase_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=rambase_conn_id, **kwargs)
        self.rambase_conn_id = rambase_conn_id
        self.tokens = TokenCache(self.fetch_token)

    @property
    def db(self) -> str | None:
        return self.extras.get("db") or self.connection.schema or None

    def _extract_auth(self, connection) -> TokenAuth:
        return TokenAuth(self.tokens)

    def session(self) -> requests.Session:
        return self.get_conn(headers={"Accept": "application/json"})

    # -- the token ----------------------------------------------------------------
    def _grant(self) -> dict:
        conn, extras = self.connection, self.extras
        if not conn.login or not conn.password:
            raise ConnectionConfigError(f"{self.name} needs the client id (Login) and client secret (Password).")
        form = {"client_id": conn.login, "client_secret": conn.password,
                "grant_type": extras.get("grant_type") or "client_credentials"}
        if form["grant_type"] == "password":
            if not extras.get("username") or not extras.get("user_password"):
                raise ConnectionConfigError(f"{self.name}: the password grant needs username and user_password.")
            form |= {"username": extras["username"], "password": extras["user_password"]}
        elif form["grant_type"] != "client_credentials":
            raise ConnectionConfigError(f"{self.name}: grant_type must be client_credentials or password.")
        if extras.get("target"):
            form["target"] = extras["target"]
        return form

    def fetch_token(self, timeout: float = 30) -> tuple[str, float]:
        """A new token and its lifetime in seconds."""
        if not self.base_url:
            self._set_base_url(self.connection)
        with requests.Session() as plain:
            # log_bodies=False: the request carries the client secret, the answer the token.
            answer = request(plain, "POST", self.url("/oauth2/access_token"), timeout, log_bodies=False,
                             data=self._grant())
        raise_for_transient(answer)
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status in (400, 401, 403):
            raise ConnectionConfigError(
                f"{self.name} could not get a token (HTTP {answer.status}: {body.get('error') or answer.message()}). "
                "Check the client id and secret, the grant type and, for the password grant, the user's credentials."
            )
        if answer.status == 404:
            raise ConnectionConfigError(f"{self.name}: no token endpoint at {self.url('/oauth2/access_token')}; "
                                        "check its Host (the API base URL).")
        token = body.get("access_token")
        if answer.status != 200 or not token:
            raise TransientError(f"unreadable token answer: HTTP {answer.status}", status=answer.status)
        mask_secret(token)
        if body.get("refresh_token"):
            mask_secret(body["refresh_token"])
        return token, float(body.get("expires_in") or 3600)

    def token(self) -> str:
        return self.tokens.get()

    # -- calls ----------------------------------------------------------------------
    def call(self, session: requests.Session, method: str, endpoint: str, timeout: float, **kwargs) -> Answer:
        """One API call with $db and $format=json; a 401 renews the token once, then fails clearly."""
        params = {"$format": "json"} | ({"$db": self.db} if self.db else {}) | kwargs.pop("params", {})
        url = endpoint if endpoint.startswith("http") else self.url(endpoint)
        return call_renewing(
            self.tokens,
            lambda: request(session, method, url, timeout, params=params, **kwargs),
            lambda: ConnectionConfigError(
                f"{self.name} was refused (HTTP 401) even with a new token: check that the client may use "
                f"database {self.db!r} and the API resources."),
        )

    def check_database(self, session: requests.Session | None = None, timeout: float = 30) -> None:
        """One small read that carries $db: a wrong company fails here, not on every document."""
        session = session or self.session()
        answer = self.call(session, "GET", "procurement/orders", timeout, params={"$top": 1})
        raise_for_transient(answer)
        if answer.status == 404:
            raise ConnectionConfigError(f"{self.name}: no RamBase API at {self.url('/procurement/orders')} (HTTP 404); "
                                        "check its Host (the API base URL).")
        if 400 <= answer.status < 500:
            error = parse_error(answer.body)
            raise ConnectionConfigError(
                f"{self.name} was refused reading purchase orders with $db={self.db!r} (HTTP {answer.status}: "
                f"{error.text() if error else answer.message()}). Check the connection's $db (extra db) and "
                "the client's duties.")

    def describe(self) -> str:
        return f"{self.name} ({self.base_url or self.connection.host}, $db={self.db})"

    def test_connection(self) -> tuple[bool, str]:
        try:
            self._set_base_url(self.connection)
            self.check_database()
        except (ConnectionConfigError, TransientError, ValueError) as exc:
            return False, str(exc)
        return True, f"RamBase answered at {self.base_url} for $db={self.db!r}"
