"""GepSmartHook: GEP SMART's SmartInterfaceAPI behind a ``gep_smart`` connection.

host = the instance base URL (https://<instance>.gep.com), password = the ``gep-auth-key``;
extras: auth_url (the customer's token service), subscription_api_key (the optional
``Ocp-Apim-Subscription-Key``) and cert (an optional client certificate path). The JWT
from the token service is reused until shortly before its ``Expires`` minutes.

Airflow masks an extra by its name: a name with "token" in it is hidden, one with "api_key" in
it is hidden. So the URL is ``auth_url`` (``token_url`` hid an address that is no secret) and
the key ``subscription_api_key`` (``subscription_key`` showed a secret). The old names still work.
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

SUBSCRIPTION_HEADER = "Ocp-Apim-Subscription-Key"
AUTH_URL, SUBSCRIPTION_KEY = "auth_url", "subscription_api_key"
LEGACY_NAMES = {AUTH_URL: "token_url", SUBSCRIPTION_KEY: "subscription_key"}  # what earlier versions called them


class GepSmartHook(VendorHttpHook):
    conn_name_attr = "gep_conn_id"
    default_conn_name = "gep_smart_default"
    conn_type = "gep_smart"
    hook_name = "GEP SMART"
    private_extras = frozenset({AUTH_URL, SUBSCRIPTION_KEY, *LEGACY_NAMES.values()})

    def __init__(self, gep_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=gep_conn_id, **kwargs)
        self.gep_conn_id = gep_conn_id
        self.tokens = TokenCache(self.fetch_token)

    def _extra(self, name: str) -> str | None:
        return self.extras.get(name) or self.extras.get(LEGACY_NAMES[name])

    def _subscription(self) -> dict[str, str]:
        key = self._extra(SUBSCRIPTION_KEY)
        if key:
            mask_secret(key)
        return {SUBSCRIPTION_HEADER: key} if key else {}

    def _extract_auth(self, connection) -> TokenAuth:
        return TokenAuth(self.tokens)

    def session(self) -> requests.Session:
        return self.get_conn(headers={"Accept": "application/json", "Content-Type": "application/json"}
                             | self._subscription())

    def fetch_token(self, timeout: float = 30) -> tuple[str, float]:
        """A JWT from the token service and its lifetime in seconds (``Expires`` is in minutes)."""
        auth_key, token_url = self.connection.password, self._extra(AUTH_URL)
        if not auth_key or not token_url:
            raise ConnectionConfigError(f"{self.name} needs the gep-auth-key (Password) and the token "
                                        f"service URL (extra {AUTH_URL}).")
        mask_secret(auth_key)
        with requests.Session() as plain:
            plain.cert = self.extras.get("cert") or None
            answer = request(plain, "GET", token_url, timeout, log_bodies=False,  # the answer is the token
                             headers={"gep-auth-key": auth_key, "Accept": "application/json"} | self._subscription())
        raise_for_transient(answer)
        body = answer.body if isinstance(answer.body, dict) else {}
        if answer.status in (400, 401, 403, 404):
            raise ConnectionConfigError(
                f"{self.name}: the token service refused (HTTP {answer.status}: "
                f"{body.get('ErrorMessage') or answer.message()}). Check the gep-auth-key, the subscription key, "
                "the client certificate and the token URL.")
        token = body.get("Token")
        if answer.status != 200 or not token:
            raise TransientError(f"unreadable token answer: HTTP {answer.status}", status=answer.status)
        mask_secret(token)
        return token, float(body.get("Expires") or 60) * 60

    def call(self, session: requests.Session, method: str, endpoint: str, timeout: float, **kwargs) -> Answer:
        """One API call; a 401 renews the token once, then fails naming the connection."""
        return call_renewing(
            self.tokens,
            lambda: request(session, method, self.url(endpoint), timeout, **kwargs),
            lambda: ConnectionConfigError(f"{self.name} was refused (HTTP 401) even with a new token: check the "
                                          "subscription key and that the client may use this API."),
        )

    def describe(self) -> str:
        return f"{self.name} ({self.base_url or self.connection.host})"

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.fetch_token()
        except (ConnectionConfigError, TransientError, ValueError) as exc:
            return False, str(exc)
        return True, "The GEP token service issued a token"
