"""ProcurosHook: the Procuros API v2 behind a ``procuros`` connection.

host = base URL (https://api.procuros.io, or the staging URL), password = the API token
of the ERP connection. Delivery tuning goes in the extras (max_concurrency, ...).
"""

from __future__ import annotations

from typing import Any

import requests
from airflow.sdk.log import mask_secret

from erp_outbound.core.async_http import arequest
from erp_outbound.core.http import (
    Answer,
    BearerAuth,
    ConnectionConfigError,
    TransientError,
    VendorHttpHook,
    raise_for_transient,
    request,
)

JSON_HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


class ProcurosHook(VendorHttpHook):
    conn_name_attr = "procuros_conn_id"
    default_conn_name = "procuros_default"
    conn_type = "procuros"
    hook_name = "Procuros"
    default_host = "https://api.procuros.io"

    def __init__(self, procuros_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(conn_id=procuros_conn_id, **kwargs)
        self.procuros_conn_id = procuros_conn_id

    def _extract_auth(self, connection) -> BearerAuth:
        token = connection.password
        if not token:
            raise ConnectionConfigError(
                f"Procuros connection {self.procuros_conn_id!r} has no API token: "
                "put the API token of your ERP connection in its Password field."
            )
        mask_secret(token)
        return BearerAuth(token)

    def session(self) -> requests.Session:
        return self.get_conn(headers=JSON_HEADERS)

    def check_access(self, answer: Answer) -> None:
        """401/403/404 mean the connection is wrong, not the document: fail with what to fix."""
        name = f"Procuros connection {self.procuros_conn_id!r} ({self.base_url})"
        if answer.status in (401, 403):
            raise ConnectionConfigError(
                f"{name} was refused with HTTP {answer.status}: {answer.message().rstrip('.')}. "
                "Check that its Password holds a valid API token for this environment "
                "(production and staging tokens differ)."
            )
        if answer.status == 404:
            raise ConnectionConfigError(
                f"{name} answered HTTP 404 for a Procuros endpoint: check its Host, which must be the "
                "API base URL such as https://api.procuros.io."
            )

    def ping(self, session: requests.Session | None = None, timeout: float = 15) -> None:
        """GET /v2/ping (204). Raises ConnectionConfigError or TransientError."""
        session = session or self.session()
        try:
            answer = request(session, "GET", self.url("/v2/ping"), timeout)
        except TransientError as exc:
            raise TransientError(f"Procuros connection {self.procuros_conn_id!r} ({self.base_url}): {exc.reason}") from exc
        self.check_access(answer)
        raise_for_transient(answer)
        if answer.status != 204 and not 200 <= answer.status < 300:
            raise ConnectionConfigError(
                f"Procuros connection {self.procuros_conn_id!r}: /v2/ping answered HTTP {answer.status}"
            )

    def test_connection(self) -> tuple[bool, str]:
        try:
            self.ping()
        except (ConnectionConfigError, TransientError, ValueError) as exc:
            return False, str(exc)
        return True, f"Procuros answered /v2/ping at {self.base_url}"

    # -- endpoints ------------------------------------------------------------
    def send_transaction(self, session: requests.Session, body: str, timeout: float) -> Answer:
        return request(session, "POST", self.url("/v2/transactions"), timeout, data=body.encode("utf-8"))

    async def asend_transaction(self, session, body: str, timeout: float) -> Answer:
        """POST /v2/transactions on an aiohttp session (see core/async_http.py)."""
        return await arequest(session, "POST", self.url("/v2/transactions"), timeout, data=body.encode("utf-8"))

    def list_all_transactions(self, session: requests.Session, params: dict, timeout: float) -> Answer:
        """GET /v2/all-transactions with filter[...] / cursor / per_page query parameters."""
        return request(session, "GET", self.url("/v2/all-transactions"), timeout, params=params)

    def report_error(self, session: requests.Session, report: dict, timeout: float) -> Answer:
        return request(session, "POST", self.url("/v2/errors"), timeout, json=report)

    def list_tasks(self, session: requests.Session, per_page: int, cursor: str | None, timeout: float) -> Answer:
        params = {"per_page": per_page} | ({"cursor": cursor} if cursor else {})
        return request(session, "GET", self.url("/v2/tasks"), timeout, params=params)

    def mark_task(self, session: requests.Session, task_id: str, body: str, timeout: float) -> Answer:
        return request(session, "PUT", self.url(f"/v2/tasks/{task_id}"), timeout, data=body.encode("utf-8"))
