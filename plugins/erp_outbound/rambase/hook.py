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
from erp_outbound.rambase.refusals import DUTY, refusal


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
                f"{self.name} refused the access token (HTTP 401) even when new: check the client id and secret "
                "(Login, Password) and the grant type."),
        )

    def check_token(self) -> None:
        """The load steps' only check: a token (POST /oauth2/access_token, the documented call).

        Nothing else is read before the documents: an API client gets duties only for the
        resources its job needs (a client that forwards invoices may not read orders).
        """
        if not self.base_url:
            self._set_base_url(self.connection)
        try:
            self.tokens.get()
        except TransientError as exc:
            raise TransientError(f"no answer from the RamBase host {self.base_url} ({exc.reason}): check its Host "
                                 "if this lasts", exc.retry_after, exc.status) from exc

    def check_connection(self, session: requests.Session | None = None, timeout: float = 30) -> tuple[bool, str]:
        """The Test button: a token, then one small read with $db (GET procurement/orders?$top=1).

        A 403 for a missing duty is only a warning: the client may be set up for another job.
        """
        self.check_token()
        session = session or self.session()
        answer = self.call(session, "GET", "procurement/orders", timeout, params={"$top": 1})
        raise_for_transient(answer)
        if answer.status == 404:
            raise ConnectionConfigError(f"{self.name}: no RamBase API at {self.url('/procurement/orders')} (HTTP 404); "
                                        "check its Host (the API base URL).")
        why = refusal(answer)
        if why is None:
            return True, f"RamBase answered at {self.base_url} for $db={self.db!r}"
        if why.cause == DUTY:
            return True, (f"Warning: the token works, but {why.text('GET procurement/orders')} This is expected "
                          "when the client only does another job (e.g. forwarding invoices).")
        raise ConnectionConfigError(f"{self.name}: {why.text('GET procurement/orders')}")

    def describe(self) -> str:
        return f"{self.name} ({self.base_url or self.connection.host}, $db={self.db})"

    def test_connection(self) -> tuple[bool, str]:
        try:
            self._set_base_url(self.connection)
            return self.check_connection()
        except (ConnectionConfigError, TransientError, ValueError) as exc:
            return False, str(exc)
