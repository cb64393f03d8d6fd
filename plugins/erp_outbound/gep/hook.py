"""GepSmartHook: GEP SMART's SmartInterfaceAPI behind a ``gep_smart`` connection.

host = the instance base URL (https://<instance>.gep.com), password = the ``gep-auth-key``;
extras: auth_url (the customer's token service), subscription_api_key (the optional
``Ocp-Apim-Subscription-Key``) and cert (an optional client certificate path). The JWT
from the token service is shared and renewed by core/tokens.py.

Airflow masks an extra by its name: a name with "token" in it is hidden, one with "api_key" in
it is hidden. So the URL is ``auth_url`` (``token_url`` hid an address that is no secret) and
the key ``subscription_api_key`` (``subscription_key`` showed a secret). The old names still work.
"""

from __future__ import annotations

import ssl
from typing import Any

from airflow.sdk.log import mask_secret

from erp_outbound.core.client import VendorClient
from erp_outbound.core.delivery_settings import DeliverySettings
from erp_outbound.core.hook import VendorHook, run_sync
from erp_outbound.core.http import Answer, ConnectionConfigError, TransientError, raise_for_transient
from erp_outbound.core.tokens import TokenAuth, TokenCache

SUBSCRIPTION_HEADER = "Ocp-Apim-Subscription-Key"
AUTH_URL, SUBSCRIPTION_KEY = "auth_url", "subscription_api_key"
LEGACY_NAMES = {AUTH_URL: "token_url", SUBSCRIPTION_KEY: "subscription_key"}  # what earlier versions called them


class GepSmartHook(VendorHook):
    conn_name_attr = "gep_conn_id"
    default_conn_name = "gep_smart_default"
    conn_type = "gep_smart"
    hook_name = "GEP SMART"
    default_headers = {"Accept": "application/json", "Content-Type": "application/json"}
    private_extras = frozenset({AUTH_URL, SUBSCRIPTION_KEY, *LEGACY_NAMES.values()})

    def __init__(self, gep_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(gep_conn_id, **kwargs)
        self.gep_conn_id = gep_conn_id

    def _extra(self, name: str) -> str | None:
        return self.extras.get(name) or self.extras.get(LEGACY_NAMES[name])

    def subscription(self) -> dict[str, str]:
        key = self._extra(SUBSCRIPTION_KEY)
        if key:
            mask_secret(key)
        return {SUBSCRIPTION_HEADER: key} if key else {}

    def headers(self) -> dict[str, str]:
        return super().headers() | self.subscription()

    def token_request(self) -> tuple[str, dict[str, str]]:
        """The token service URL and the headers that ask it for a token."""
        auth_key, token_url = self.connection.password, self._extra(AUTH_URL)
        if not auth_key or not token_url:
            raise ConnectionConfigError(f"{self.name} needs its gep-auth-key and the token "
                                        f"service URL (extra {AUTH_URL}).")
        mask_secret(auth_key)
        return token_url, {"gep-auth-key": auth_key, "Accept": "application/json"} | self.subscription()

    def ssl_context(self) -> ssl.SSLContext | None:
        """The client certificate of extra ``cert``, if any."""
        cert = self.extras.get("cert")
        if not cert:
            return None
        context = ssl.create_default_context()
        context.load_cert_chain(cert)
        return context

    def client(self, settings: DeliverySettings | None = None) -> GepClient:
        return GepClient(self, settings or self.delivery_settings())

    def describe(self) -> str:
        return f"{self.name} ({self.base_url})"

    def test_connection(self) -> tuple[bool, str]:
        async def fetch() -> None:
            async with self.client(DeliverySettings(max_concurrency=1)) as client:
                await client.fetch_token()

        try:
            run_sync(fetch)
        except (ConnectionConfigError, TransientError, ValueError) as exc:
            return False, str(exc)
        return True, "The GEP token service issued a token"


class GepClient(VendorClient):
    """SmartInterfaceAPI calls with a shared, renewed JWT."""

    def __init__(self, hook: GepSmartHook, settings: DeliverySettings):
        self.token_url, self.token_headers = hook.token_request()
        refused = (lambda answer: ConnectionConfigError(
            f"{hook.name}: the API refused two new tokens in a row (HTTP 401: {answer.message()}). Check the "
            "subscription key and that the client may use this API."))
        super().__init__(hook.name, hook.base_url, settings, hook.headers(),
                         auth=TokenAuth(TokenCache(self.fetch_token), refused), ssl_context=hook.ssl_context())

    async def fetch_token(self) -> tuple[str, float]:
        """A JWT from the token service and its lifetime in seconds (``Expires`` is in minutes)."""
        answer = await self.request("GET", self.token_url, headers=self.token_headers, log_bodies=False,
                                    authorized=False)  # the answer is the token
        raise_for_transient(answer)
        body = answer.body if isinstance(answer.body, dict) else {}
        token = body.get("Token")
        if answer.status == 200 and token:
            mask_secret(token)
        if answer.status in (400, 401, 403, 404):
            raise ConnectionConfigError(
                f"{self.name}: the token service refused (HTTP {answer.status}: "
                f"{body.get('ErrorMessage') or answer.message()}). Check the gep-auth-key, the subscription key, "
                "the client certificate and the token URL.")
        if answer.status != 200 or not token:
            raise TransientError(f"unreadable token answer: HTTP {answer.status}", status=answer.status)
        return token, float(body.get("Expires") or 60) * 60

    async def check_token(self) -> None:
        """Get the first token: a wrong key or token URL fails here, before any document."""
        await self.auth.cache.current()

    async def call(self, method: str, endpoint: str, **kwargs) -> Answer:
        """One API call; a 401 renews the token (core/tokens.py)."""
        return await self.request(method, endpoint, **kwargs)
