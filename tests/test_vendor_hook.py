"""ProcurosHook's client headers, settings and connection test, and the ERP connection's SQLAlchemy URL."""

from __future__ import annotations

import json
import re

import pytest
from airflow.sdk import Connection

from conftest import SANDBOX_TOKEN
from erp_outbound.core.delivery_settings import DeliverySettings
from erp_outbound.core.http import ConnectionConfigError
from erp_outbound.erp.hook import sqlalchemy_url
from erp_outbound.procuros.hook import ProcurosHook

TOKEN = "secret-xyz"
TUNING = {"max_concurrency": 4, "max_requests_per_second": 2, "timeout": 10, "max_tries": 3,
          "max_retry_wait": 20, "backoff_initial": 1, "extra__procuros__max_concurrency": 8}


def procuros_connection(monkeypatch, conn_id: str = "procuros_default", **fields) -> ProcurosHook:
    """A ``procuros`` connection as an AIRFLOW_CONN_* variable, and a hook on it."""
    fields = {"conn_type": "procuros", "host": "http://127.0.0.1:9", "password": TOKEN} | fields
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))
    return ProcurosHook(conn_id)


def sent_headers(hook: ProcurosHook) -> dict[str, str]:
    """The headers the hook's client sends with every request."""
    return hook.client().headers


# --------------------------------------------------------------------------- client


def test_the_client_sends_the_token_as_bearer(monkeypatch):
    hook = procuros_connection(monkeypatch)
    client = hook.client()
    assert client.headers["Authorization"] == f"Bearer {TOKEN}"
    assert client.headers["Content-Type"] == "application/json"
    assert client.headers["Accept"] == "application/json"
    assert client.url("/v2/transactions") == "http://127.0.0.1:9/v2/transactions"


def test_the_token_is_masked(monkeypatch):
    masked = []
    monkeypatch.setattr("erp_outbound.procuros.hook.mask_secret", masked.append)
    procuros_connection(monkeypatch).client()
    assert masked == [TOKEN]


def test_the_client_does_not_show_the_token(monkeypatch):
    client = procuros_connection(monkeypatch).client()
    assert TOKEN not in repr(client) and TOKEN not in str(vars(client.pacer))


def test_tuning_extras_are_no_headers_but_other_extras_are(monkeypatch):
    hook = procuros_connection(monkeypatch, extra=TUNING | {"X-Custom": "yes", "cert": "/etc/ssl/client.pem"})
    headers = sent_headers(hook)
    assert headers["X-Custom"] == "yes"  # like HttpHook, unknown extras go out as headers
    for name in [*TUNING, "cert"]:
        assert name not in headers
    assert headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize("conn_id", ["procuros_default", "procuros_staging"])
def test_no_token_is_a_connection_error_naming_it(monkeypatch, conn_id):
    hook = procuros_connection(monkeypatch, conn_id, password=None)
    with pytest.raises(ConnectionConfigError, match=f"'{conn_id}'.*no API token"):
        hook.client()


# --------------------------------------------------------------------------- delivery settings


def test_delivery_settings_default(monkeypatch):
    assert procuros_connection(monkeypatch).delivery_settings() == DeliverySettings()


def test_delivery_settings_from_the_extras(monkeypatch):
    extras = {"max_concurrency": "4", "max_requests_per_second": 2, "timeout": "45", "max_tries": 3,
              "max_retry_wait": 20, "backoff_initial": 1.5, "X-Custom": "yes"}
    settings = procuros_connection(monkeypatch, extra=extras).delivery_settings()
    assert settings == DeliverySettings(max_concurrency=4, max_requests_per_second=2, timeout=45, max_tries=3,
                                        max_retry_wait=20, backoff_initial=1.5)


def test_delivery_settings_from_the_form_fields(monkeypatch):
    """The connection form stores its fields as extra__procuros__<name>; empty ones mean the default."""
    extras = {"extra__procuros__max_concurrency": "8", "extra__procuros__max_tries": "2",
              "extra__procuros__timeout": ""}
    settings = procuros_connection(monkeypatch, extra=extras).delivery_settings()
    assert (settings.max_concurrency, settings.max_tries, settings.timeout) == (8, 2, 30)


@pytest.mark.parametrize("name, value", [
    ("max_concurrency", "many"),
    ("extra__procuros__max_tries", "three"),
    ("timeout", "30s"),
    ("max_requests_per_second", [2]),
])
def test_delivery_settings_refuse_non_numbers(monkeypatch, name, value):
    hook = procuros_connection(monkeypatch, extra={name: value})
    short = name.rsplit("__", 1)[-1]
    with pytest.raises(ValueError, match=re.escape(f"'{short}' must be a number, got {value!r}")):
        hook.delivery_settings()


@pytest.mark.parametrize("extras", [{"max_concurrency": 0}, {"max_tries": "0"}])
def test_delivery_settings_refuse_less_than_one(monkeypatch, extras):
    with pytest.raises(ValueError, match="at least 1"):
        procuros_connection(monkeypatch, extra=extras).delivery_settings()


def test_delivery_settings_keep_fractions(monkeypatch):
    extras = {"max_requests_per_second": "0.5", "timeout": 2.5, "max_retry_wait": "7.5"}
    settings = procuros_connection(monkeypatch, extra=extras).delivery_settings()
    assert (settings.max_requests_per_second, settings.timeout, settings.max_retry_wait) == (0.5, 2.5, 7.5)


# --------------------------------------------------------------------------- test_connection


def test_connection_test_against_the_sandbox(monkeypatch, sandbox):
    hook = procuros_connection(monkeypatch, host=sandbox.base_url, password=SANDBOX_TOKEN)
    ok, message = hook.test_connection()
    assert ok is True
    assert sandbox.base_url in message


def test_connection_test_with_a_wrong_token(monkeypatch, sandbox):
    wrong = "wrong-token-0c1d2e"
    hook = procuros_connection(monkeypatch, host=sandbox.base_url, password=wrong)
    ok, message = hook.test_connection()
    assert ok is False
    assert "'procuros_default'" in message and "401" in message
    assert wrong not in message


def test_connection_test_without_a_token(monkeypatch, sandbox):
    ok, message = procuros_connection(monkeypatch, host=sandbox.base_url, password=None).test_connection()
    assert ok is False
    assert "'procuros_default'" in message and "no API token" in message


def test_connection_test_when_nothing_listens(monkeypatch):
    ok, message = procuros_connection(monkeypatch).test_connection()  # port 9: refused
    assert ok is False
    assert "'procuros_default'" in message and "connection failed" in message
    assert TOKEN not in message


# --------------------------------------------------------------------------- ERP connection URL


def url_text(conn: Connection) -> str:
    return sqlalchemy_url(conn).render_as_string(hide_password=False)


def test_erp_connection_host_is_the_url_and_the_password_is_injected():
    conn = Connection(conn_id="erp_default", conn_type="erp",
                      host="postgresql+psycopg2://erp_reader@db.example.com:5432/erp", password="p@ss:w/rd")
    url = sqlalchemy_url(conn)
    assert (url.drivername, url.username, url.password) == ("postgresql+psycopg2", "erp_reader", "p@ss:w/rd")
    assert (url.host, url.port, url.database) == ("db.example.com", 5432, "erp")
    assert url_text(conn) == "postgresql+psycopg2://erp_reader:p%40ss%3Aw%2Frd@db.example.com:5432/erp"


def test_erp_connection_keeps_a_password_in_the_url():
    conn = Connection(conn_id="erp_default", conn_type="erp",
                      host="mysql+pymysql://erp:inurl@127.0.0.1:3306/erp", password="field")
    assert sqlalchemy_url(conn).password == "inurl"


def test_erp_connection_to_sqlite():
    conn = Connection(conn_id="erp_default", conn_type="erp", host="sqlite:////var/lib/erp/erp.db")
    assert url_text(conn) == "sqlite:////var/lib/erp/erp.db"


def test_sqlite_connection_host_is_the_file():
    conn = Connection(conn_id="erp_sqlite", conn_type="sqlite", host="/var/lib/erp/erp.db")
    url = sqlalchemy_url(conn)
    assert (url.drivername, url.database) == ("sqlite", "/var/lib/erp/erp.db")


@pytest.mark.parametrize("conn_type, driver", [
    ("postgres", "postgresql+psycopg2"),
    ("postgresql", "postgresql+psycopg2"),
    ("mysql", "mysql+pymysql"),
    ("mariadb", "mysql+pymysql"),
])
def test_database_connections(conn_type, driver):
    conn = Connection(conn_id="erp_db", conn_type=conn_type, host="db.example.com", port=6543,
                      schema="erp", login="erp_reader", password="p@ss")
    url = sqlalchemy_url(conn)
    assert (url.drivername, url.username, url.password) == (driver, "erp_reader", "p@ss")
    assert (url.host, url.port, url.database) == ("db.example.com", 6543, "erp")


def test_database_connection_without_port_or_credentials():
    conn = Connection(conn_id="erp_db", conn_type="postgres", host="localhost", schema="erp")
    assert url_text(conn) == "postgresql+psycopg2://localhost/erp"


def test_unknown_connection_type_is_a_clear_error():
    conn = Connection(conn_id="erp_oracle", conn_type="oracle", host="erp.example.com", login="scott")
    with pytest.raises(ValueError, match=r"'erp_oracle' has type 'oracle'.*'erp'.*'sqlite'.*'postgres'.*'mysql'"):
        sqlalchemy_url(conn)
