"""RambaseHook: the RamBase REST API behind a ``rambase`` connection.

host = base URL (https://api.rambase.net), login = client id, password = client secret;
extras: grant_type (client_credentials | password), username and user_password for the
password grant, db (the $db company) and an optional target. The token comes from
POST /oauth2/access_token and is shared and renewed by core/tokens.py. It goes in
``Authorization: Bearer``, never in ``$access_token``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from airflow.sdk.log import mask_secret

from erp_outbound.core.client import VendorClient
from erp_outbound.core.delivery_settings import DeliverySettings
from erp_outbound.core.hook import VendorHook, run_sync
from erp_outbound.core.http import Answer, ConnectionConfigError, TransientError, raise_for_transient
from erp_outbound.core.tokens import TokenAuth, TokenCache
from erp_outbound.rambase.refusals import DUTY, refusal

TOKEN_PATH = "/oauth2/access_token"


class RambaseHook(VendorHook):
    conn_name_attr = "rambase_conn_id"
    default_conn_name = "rambase_default"
    conn_type = "rambase"
    hook_name = "RamBase"
    default_host = "https://api.rambase.net"
    default_headers = {"Accept": "application/json"}
    private_extras = frozenset({"grant_type", "username", "user_password", "db", "target"})

    def __init__(self, rambase_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(rambase_conn_id, **kwargs)
        self.rambase_conn_id = rambase_conn_id

    @property
    def db(self) -> str | None:
        return self.extras.get("db") or self.connection.schema or None

    def grant(self) -> dict:
        """The token request's form, checked before anything is sent."""
        conn, extras = self.connection, self.extras
        if not conn.login or not conn.password:
            raise ConnectionConfigError(f"{self.name} needs its Client id and Client secret.")
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
        mask_secret(conn.password)
        return form

    def client(self, settings: DeliverySettings | None = None) -> RambaseClient:
        return RambaseClient(self, settings or self.delivery_settings())

    def describe(self) -> str:
        return f"{self.name} ({self.base_url}, $db={self.db})"

    def test_connection(self) -> tuple[bool, str]:
        """The Test button: a token, then one small read with $db. A missing duty is only a warning."""
        async def check() -> str | None:
            async with self.client(DeliverySettings(max_concurrency=1)) as client:
                await client.check_token()
                return await client.check_database()

        try:
            warning = run_sync(check)
        except (ConnectionConfigError, TransientError, ValueError) as exc:
            return False, str(exc)
        if warning:
            return True, (f"Warning: the token works, but {warning} This is expected when the client only does "
                          "another job (e.g. forwarding invoices).")
        return True, f"RamBase answered at {self.base_url} for $db={self.db!r}"


class RambaseClient(VendorClient):
    """RamBase calls with $db and $format=json and a shared, renewed token."""

    def __init__(self, hook: RambaseHook, settings: DeliverySettings):
        self.db = hook.db
        self.fixed_query = urlencode({"$format": "json"} | ({"$db": self.db} if self.db else {}))
        self.form = hook.grant()
        refused = (lambda answer: ConnectionConfigError(
            f"{hook.name}: RamBase refused two new tokens in a row (HTTP 401: {answer.message()}). "
            "The token endpoint issues tokens the API does not accept: check the client id and secret, the grant "
            "type and, for the password grant, the user's credentials."))
        super().__init__(hook.name, hook.base_url, settings, hook.headers(),
                         auth=TokenAuth(TokenCache(self.fetch_token), refused))

    async def fetch_token(self) -> tuple[str, float]:
        """A new token and its lifetime in seconds; masked before anything can log it."""
        # log_bodies=False: the request carries the client secret, the answer the token.
        answer = await self.request("POST", TOKEN_PATH, data=self.form, log_bodies=False, authorized=False)
        raise_for_transient(answer)
        body = answer.body if isinstance(answer.body, dict) else {}
        token = body.get("access_token")
        if answer.status == 200 and token:
            mask_secret(token)
        if body.get("refresh_token"):
            mask_secret(body["refresh_token"])
        if answer.status in (400, 401, 403):
            raise ConnectionConfigError(
                f"{self.name} could not get a token (HTTP {answer.status}: {body.get('error') or answer.message()}). "
                "Check the client id and secret, the grant type and, for the password grant, the user's credentials.")
        if answer.status == 404:
            raise ConnectionConfigError(f"{self.name}: no token endpoint at {self.url(TOKEN_PATH)}; "
                                        "check its Host (the API base URL).")
        if answer.status != 200 or not token:
            raise TransientError(f"unreadable token answer: HTTP {answer.status}", status=answer.status)
        return token, float(body.get("expires_in") or 3600)

    async def call(self, method: str, endpoint: str, *, params: dict | None = None, **kwargs) -> Answer:
        """One API call with $db and $format=json; a 401 renews the token (core/tokens.py)."""
        # The fixed query is encoded once per client: per request it is only appended.
        url = self.url(endpoint)
        return await self.request(method, f"{url}{'&' if '?' in url else '?'}{self.fixed_query}", params=params,
                                  **kwargs)

    async def check_token(self) -> None:
        """The load steps' only check: a token (POST /oauth2/access_token, the documented call).

        Nothing else is read before the documents: an API client gets duties only for the
        resources its job needs (a client that forwards invoices may not read orders).
        """
        try:
            await self.auth.cache.current()
        except TransientError as exc:
            raise TransientError(f"no answer from the RamBase host {self.base_url} ({exc.reason}): check its Host "
                                 "if this lasts", exc.retry_after, exc.status) from exc

    async def check_database(self) -> str | None:
        """The Test button's read with $db (GET procurement/orders?$top=1), not part of a load.

        A wrong Host, token or $db raises ConnectionConfigError naming it; a missing duty is
        returned as a warning (the client may be set up for another job), else None.
        """
        call = "GET procurement/orders"
        answer = await self.call("GET", "procurement/orders", params={"$top": 1})
        raise_for_transient(answer)
        if answer.status == 404:
            raise ConnectionConfigError(f"{self.name}: no RamBase API at {self.url('/procurement/orders')} (HTTP 404); "
                                        "check its Host (the API base URL).")
        why = refusal(answer)
        if why is None:
            return None
        if why.cause == DUTY:
            return why.text(call)
        raise ConnectionConfigError(f"{self.name}: {why.text(call)}")
