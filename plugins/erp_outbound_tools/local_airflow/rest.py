"""A small client of Airflow 3's REST API v2, as the UI uses it: log in, unpause, trigger, wait, read logs.

Routes (airflow/api_fastapi in 3.3): ``POST /auth/token`` (simple auth manager) gives a JWT;
``/api/v2/...`` is the public API; ``/ui/connections/hook_meta`` is what the connection form
reads to know the connection types.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import requests

FINISHED_RUN_STATES = {"success", "failed"}


class AirflowApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        super().__init__(f"{method} {path} answered {status}: {body[:500]}")
        self.status = status


class RunTimeout(AssertionError):
    """A DAG run did not finish in time (an AssertionError, so a test fails rather than errors)."""


def _segment(value: str) -> str:
    return quote(value, safe="")  # run ids carry ':' and '+'


class AirflowRestClient:
    def __init__(self, base_url: str, username: str, password: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.username = username
        self._password = password
        self.timeout = timeout
        self._session = requests.Session()
        self._token: str | None = None

    # -- authentication ---------------------------------------------------------------
    def token(self) -> str:
        """A JWT for the user (the UI keeps it in the ``_token`` cookie; the API wants it as Bearer)."""
        if self._token is None:
            answer = self._session.post(f"{self.base_url}/auth/token", timeout=self.timeout,
                                        json={"username": self.username, "password": self._password})
            if answer.status_code not in (200, 201):
                raise AirflowApiError("POST", "/auth/token", answer.status_code, answer.text)
            self._token = answer.json()["access_token"]
        return self._token

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {self.token()}", "Accept": "application/json"}
        answer = self._session.request(method, self.base_url + path, headers=headers, timeout=self.timeout, **kwargs)
        if answer.status_code >= 400:
            raise AirflowApiError(method, path, answer.status_code, answer.text)
        return answer.json() if answer.content else None

    # -- health and DAGs -----------------------------------------------------------------
    def health(self) -> dict:
        answer = self._session.get(f"{self.base_url}/api/v2/monitor/health", timeout=self.timeout)
        answer.raise_for_status()
        return answer.json()

    def dags(self) -> dict[str, dict]:
        return {d["dag_id"]: d for d in self.request("GET", "/api/v2/dags", params={"limit": 1000})["dags"]}

    def import_errors(self) -> list[dict]:
        return self.request("GET", "/api/v2/importErrors", params={"limit": 1000})["import_errors"]

    def set_paused(self, dag_id: str, paused: bool) -> dict:
        return self.request("PATCH", f"/api/v2/dags/{_segment(dag_id)}", json={"is_paused": paused})

    # -- runs --------------------------------------------------------------------------
    def trigger(self, dag_id: str, conf: dict | None = None) -> dict:
        """A manual run, as the UI's trigger form makes it (no logical date)."""
        return self.request("POST", f"/api/v2/dags/{_segment(dag_id)}/dagRuns",
                            json={"logical_date": None, "conf": conf or {}})

    def dag_run(self, dag_id: str, run_id: str) -> dict:
        return self.request("GET", f"/api/v2/dags/{_segment(dag_id)}/dagRuns/{_segment(run_id)}")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict]:
        path = f"/api/v2/dags/{_segment(dag_id)}/dagRuns/{_segment(run_id)}/taskInstances"
        return self.request("GET", path)["task_instances"]

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float, poll: float = 2.0) -> dict:
        """The finished run; RunTimeout naming each task's state when it takes longer than ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                run = self.dag_run(dag_id, run_id)
            except requests.Timeout:
                # A busy machine (the API server shares it with the scheduler and the tasks) can answer one
                # poll late: the next poll asks again, until the deadline.
                if time.monotonic() > deadline:
                    raise
                continue
            if run["state"] in FINISHED_RUN_STATES:
                return run
            if time.monotonic() > deadline:
                tasks = {t["task_id"]: t["state"] for t in self.task_instances(dag_id, run_id)}
                raise RunTimeout(f"{dag_id} run {run_id} is still {run['state']} after {timeout:.0f} s; "
                                 f"tasks: {tasks}")
            time.sleep(poll)

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int = 1, map_index: int = -1) -> str:
        """The whole log of one try, one line per structured message (``content`` of the JSON answer).

        ``map_index`` picks one instance of a mapped task (-1: a task that is not mapped).
        """
        path = (f"/api/v2/dags/{_segment(dag_id)}/dagRuns/{_segment(run_id)}/taskInstances/"
                f"{_segment(task_id)}/logs/{try_number}")
        lines: list[str] = []
        params: dict[str, Any] = {"full_content": "true", "map_index": map_index}
        for _ in range(100):  # a continuation token means there is more to read
            answer = self.request("GET", path, params=params)
            lines.extend(_log_line(message) for message in answer["content"])
            if not answer.get("continuation_token"):
                break
            params["token"] = answer["continuation_token"]
        return "\n".join(lines)

    # -- connections -------------------------------------------------------------------
    def connection(self, conn_id: str) -> dict:
        return self.request("GET", f"/api/v2/connections/{_segment(conn_id)}")

    def test_connection(self, conn_id: str, conn_type: str, **fields: Any) -> dict:
        """``{"status": bool, "message": str}``; stored secrets are used for the stored host."""
        return self.request("POST", "/api/v2/connections/test",
                            json={"connection_id": conn_id, "conn_type": conn_type, **fields})

    def test_connection_as_the_ui(self, conn_id: str) -> dict:
        """The Test button of the UI's connection list: the listed fields, secrets masked, port ``Number(port)``."""
        listed = self.connection(conn_id)
        return self.test_connection(conn_id, listed["conn_type"], description=listed.get("description"),
                                    extra=listed.get("extra"), host=listed.get("host"), login=listed.get("login") or "",
                                    password=listed.get("password") or "", port=listed.get("port") or 0,
                                    schema=listed.get("schema") or "")

    def connection_types(self) -> dict[str, dict]:
        """The connection types the UI's connection form offers, by type."""
        return {meta["connection_type"]: meta for meta in self.request("GET", "/ui/connections/hook_meta")}

    def pools(self) -> dict[str, dict]:
        return {p["name"]: p for p in self.request("GET", "/api/v2/pools", params={"limit": 1000})["pools"]}


def _log_line(message: dict | str) -> str:
    if isinstance(message, str):  # the API's fallback when a log cannot be parsed
        return message
    level = message.get("level", "")
    return " ".join(str(part) for part in (message.get("timestamp") or "", level, message.get("event", "")) if part)
