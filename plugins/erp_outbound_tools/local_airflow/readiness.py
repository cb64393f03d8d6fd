"""Waiting for something to become ready, with a clear failure when it does not."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import requests

from erp_outbound_tools.local_airflow.bootstrap import LocalAirflowError
from erp_outbound_tools.local_airflow.config import ADMIN_USER
from erp_outbound_tools.local_airflow.rest import AirflowApiError

T = TypeVar("T")
# What "not ready yet" looks like while a server starts.
NOT_YET = (requests.RequestException, AirflowApiError, OSError, ValueError, KeyError)


def wait_until(what: str, check: Callable[[], T], timeout: float, guard: Callable[[], None],
               interval: float = 1.0) -> T:
    """The first truthy result of ``check``; ``guard`` raises when waiting is pointless (a process died)."""
    deadline = time.monotonic() + timeout
    last_problem = "not yet"
    while True:
        guard()
        try:
            result = check()
            if result:
                return result
        except NOT_YET as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
        if time.monotonic() > deadline:
            raise LocalAirflowError(f"{what} not ready after {timeout:.0f} s (last: {last_problem[:300]})")
        time.sleep(interval)


def read_admin_password(path: Path) -> str | None:
    """The admin password the simple auth manager generated (written when the api-server starts)."""
    return read_password(path, ADMIN_USER)


def read_password(path: Path, user: str) -> str | None:
    """The password the simple auth manager generated for ``user`` (config.USERS)."""
    try:
        return json.loads(path.read_text()).get(user)
    except FileNotFoundError:
        return None
