"""Shared fixtures: an Airflow home of our own, the sandbox, demo ERPs, real databases."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, Phase, settings

# Property tests (test_builder_properties.py) are deterministic in make test: derandomized (the
# examples follow from the test alone), a fixed number of them, no example database, no deadline, and
# no shrinking (it took minutes on these frames): a failure prints the example as generated.
# HYPOTHESIS_PROFILE=explore searches afresh with more examples, for a developer hunting new values.
_PROPERTY_SETTINGS = dict(database=None, deadline=None, print_blob=True, phases=[Phase.explicit, Phase.generate],
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("erp-outbound", derandomize=True, max_examples=30, **_PROPERTY_SETTINGS)
settings.register_profile("explore", derandomize=False, max_examples=500, **_PROPERTY_SETTINGS)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "erp-outbound"))

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("AIRFLOW_HOME", str(REPO / ".airflow"))
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

POSTGRES_URL = os.environ.get("ERP_OUTBOUND_TEST_POSTGRES", "postgresql+psycopg2://postgres@127.0.0.1:5432/test")
MARIADB_URL = os.environ.get("ERP_OUTBOUND_TEST_MARIADB", "mysql+pymysql://root@127.0.0.1:3306/test")
# Database 6 of the local Redis: the Celery broker of the scale-out test (make bench-distributed uses 5).
REDIS_URL = os.environ.get("ERP_OUTBOUND_TEST_REDIS", "redis://127.0.0.1:6379/6")
SANDBOX_TOKEN = "test-token-7f3a9c"


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def need_server(name: str, port: int) -> None:
    """A test that needs a real server fails loudly when it is missing: it never skips."""
    if not _reachable("127.0.0.1", port):
        pytest.fail(f"{name} is not reachable on 127.0.0.1:{port}: start it (docs/contributors/tests.md)")


@pytest.fixture(scope="session", autouse=True)
def airflow_db():
    """dag.test() needs a migrated metadata database (``make test`` migrates it first)."""
    home = Path(os.environ["AIRFLOW_HOME"])
    if not (home / ".migrated").exists():
        home.mkdir(parents=True, exist_ok=True)
        airflow = Path(sys.executable).with_name("airflow")
        subprocess.run([str(airflow), "db", "migrate"], check=True, capture_output=True)
        (home / ".migrated").touch()


@pytest.fixture
def files(tmp_path, monkeypatch):
    """Staging and reports in the test's own folder."""
    monkeypatch.setenv("ERP_OUTBOUND_STAGING", str(tmp_path / "staging"))
    monkeypatch.setenv("ERP_OUTBOUND_REPORTS", str(tmp_path / "reports"))
    return tmp_path


@pytest.fixture
def sandbox():
    from erp_outbound_tools.sandbox import SandboxConfig, SandboxServer

    config = SandboxConfig()
    config.procuros.tokens = [SANDBOX_TOKEN]
    with SandboxServer(config) as server:
        yield server


@pytest.fixture
def sandbox_with():
    """A sandbox with configuration overrides, e.g. ``sandbox_with(faults={...})``."""
    from erp_outbound_tools.sandbox import SandboxConfig, SandboxServer

    servers = []

    def start(**overrides):
        procuros = {"tokens": [SANDBOX_TOKEN]} | overrides.pop("procuros", {})
        config = SandboxConfig.from_dict({"procuros": procuros} | overrides)
        servers.append(SandboxServer(config).start())
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sandbox_clock(monkeypatch):
    """The clock the sandbox's tokens expire by, moved by the test: no sleeping, no racing a short TTL."""
    from erp_outbound_tools.sandbox import tokens

    now = [1_000.0]
    monkeypatch.setattr(tokens, "time", SimpleNamespace(monotonic=lambda: now[0]))
    return SimpleNamespace(advance=lambda seconds: now.__setitem__(0, now[0] + seconds))


def connect(monkeypatch, erp_url: str, procuros_url: str, token: str = SANDBOX_TOKEN, **extra) -> None:
    """Point the default connections at an ERP and a Procuros, as AIRFLOW_CONN_* variables."""
    extras = {"max_tries": 3, "backoff_initial": 0.01, "max_retry_wait": 2} | extra
    monkeypatch.setenv("AIRFLOW_CONN_ERP_DEFAULT", json.dumps({"conn_type": "erp", "host": erp_url}))
    monkeypatch.setenv("AIRFLOW_CONN_PROCUROS_DEFAULT", json.dumps(
        {"conn_type": "procuros", "host": procuros_url, "password": token, "extra": extras}))


def connect_rambase(monkeypatch, rambase_url: str, secret: str = "sandbox-secret", **extra) -> None:
    """The default RamBase connection, pointed at a sandbox."""
    extras = {"db": "SANDBOX", "max_tries": 3, "backoff_initial": 0.01, "max_retry_wait": 2} | extra
    monkeypatch.setenv("AIRFLOW_CONN_RAMBASE_DEFAULT", json.dumps(
        {"conn_type": "rambase", "host": rambase_url, "login": "sandbox-client", "password": secret,
         "extra": extras}))


def connect_gep(monkeypatch, sandbox_url: str, auth_key: str = "sandbox-gep-key", **extra) -> None:
    """The default GEP SMART connection, pointed at a sandbox."""
    extras = {"auth_url": f"{sandbox_url}/token/gep", "max_tries": 3, "backoff_initial": 0.01,
              "max_retry_wait": 2} | extra
    monkeypatch.setenv("AIRFLOW_CONN_GEP_SMART_DEFAULT", json.dumps(
        {"conn_type": "gep_smart", "host": sandbox_url, "password": auth_key, "extra": extras}))


@pytest.fixture
def postgres_url():
    need_server("PostgreSQL", 5432)
    return POSTGRES_URL


@pytest.fixture
def mariadb_url():
    need_server("MariaDB", 3306)
    return MARIADB_URL


@pytest.fixture
def redis_url():
    need_server("Redis", 6379)
    return REDIS_URL


@pytest.fixture(scope="session")
def procuros_spec():
    """Procuros' published OpenAPI description, as shipped inside the package."""
    from erp_outbound.procuros.spec import load_spec

    return load_spec()
