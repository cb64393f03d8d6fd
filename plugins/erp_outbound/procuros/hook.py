"""ProcurosHook: the Procuros API v2 behind a ``procuros`` connection.

host = base URL (https://api.procuros.io, or the staging URL), password = the API token
of the ERP connection. Delivery tuning goes in the extras (max_concurrency, ...).
The hook reads the connection; its ProcurosClient sends every request (core/client.py).
"""

from __future__ import annotations

from typing import Any

from airflow.sdk.log import mask_secret

from erp_outbound.core.client import VendorClient
from erp_outbound.core.delivery_settings import DeliverySettings
from erp_outbound.core.hook import VendorHook, run_sync
from erp_outbound.core.http import Answer, ConnectionConfigError, TransientError, raise_for_transient

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class ProcurosHook(VendorHook):
    conn_name_attr = "procuros_conn_id"
    default_conn_name = "procuros_default"
    conn_type = "procuros"
    hook_name = "Procuros"
    default_host = "https://api.procuros.io"
    default_headers = JSON_HEADERS

    def __init__(self, procuros_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(procuros_conn_id, **kwargs)
        self.procuros_conn_id = procuros_conn_id

    def headers(self) -> dict[str, str]:
        token = self.connection.password
        if not token:
            raise ConnectionConfigError(
                f"Procuros connection {self.shown_conn_id!r} has no API token: "
                "put the API token of your ERP connection in its API token field."
            )
        mask_secret(token)
        return super().headers() | {"Authorization": f"Bearer {token}"}

    def client(self, settings: DeliverySettings | None = None) -> ProcurosClient:
        return ProcurosClient(self, settings or self.delivery_settings())

    def check_access(self, answer: Answer) -> None:
        """401/403/404 mean the connection is wrong, not the document: fail with what to fix."""
        name = f"Procuros connection {self.shown_conn_id!r} ({self.base_url})"
        if answer.status in (401, 403):
            raise ConnectionConfigError(
                f"{name} was refused with HTTP {answer.status}: {answer.message().rstrip('.')}. "
                "Check that its API token is valid for this environment "
                "(production and staging tokens differ)."
            )
        if answer.status == 404:
            raise ConnectionConfigError(
                f"{name} answered HTTP 404 for a Procuros endpoint: check its Host, which must be the "
                "API base URL such as https://api.procuros.io."
            )

    def test_connection(self) -> tuple[bool, str]:
        async def ping_once() -> None:
            async with self.client(DeliverySettings(max_concurrency=1, timeout=15)) as client:
                await client.ping()

        try:
            run_sync(ping_once)
        except (ConnectionConfigError, TransientError, ValueError) as exc:
            return False, str(exc)
        return True, f"Procuros answered /v2/ping at {self.base_url}"


class ProcurosClient(VendorClient):
    """The Procuros endpoints erp-outbound uses. Each method sends one request; retries are the caller's."""

    def __init__(self, hook: ProcurosHook, settings: DeliverySettings):
        super().__init__(hook.name, hook.base_url, settings, hook.headers())
        self.check_access = hook.check_access

    async def ping(self) -> None:
        """GET /v2/ping (204). Raises ConnectionConfigError or TransientError."""
        try:
            answer = await self.request("GET", "/v2/ping")
        except TransientError as exc:
            raise TransientError(f"{self.name} ({self.base_url}): {exc.reason}", exc.retry_after,
                                 exc.status) from exc
        self.check_access(answer)
        raise_for_transient(answer)
        if not 200 <= answer.status < 300:
            raise ConnectionConfigError(f"{self.name}: /v2/ping answered HTTP {answer.status}")

    async def send_transaction(self, body: str) -> Answer:
        return await self.request("POST", "/v2/transactions", data=body.encode("utf-8"))

    async def list_all_transactions(self, params: dict) -> Answer:
        """GET /v2/all-transactions with filter[...] / cursor / per_page query parameters."""
        return await self.request("GET", "/v2/all-transactions", params=params)

    async def report_error(self, report: dict) -> Answer:
        return await self.request("POST", "/v2/errors", json=report)

    async def list_tasks(self, per_page: int, cursor: str | None) -> Answer:
        params = {"per_page": per_page} | ({"cursor": cursor} if cursor else {})
        return await self.request("GET", "/v2/tasks", params=params)

    async def mark_task(self, task_id: str, body: str) -> Answer:
        return await self.request("PUT", f"/v2/tasks/{task_id}", data=body.encode("utf-8"))
