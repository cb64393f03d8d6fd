"""ErpHook: the ERP database behind an Airflow connection, as a SQLAlchemy engine."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from airflow.sdk import BaseHook
from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine, make_url

from erp_outbound.erp import migrations

# Airflow connection types we accept and the SQLAlchemy driver each one means.
_DRIVERS = {
    "postgres": "postgresql+psycopg2",
    "postgresql": "postgresql+psycopg2",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
}


def sqlalchemy_url(conn: Any) -> URL:
    """The SQLAlchemy URL an Airflow connection describes.

    - type ``erp``: the host field holds a SQLAlchemy URL; the password field, if set, its password;
    - type ``sqlite``: the host field is the database file;
    - types ``postgres`` / ``mysql``: the usual host, port, schema (database), login and password.
    """
    conn_type = (conn.conn_type or "").lower()
    if conn_type == "erp" or "://" in (conn.host or ""):
        url = make_url(conn.host or conn.extra_dejson.get("sqlalchemy_url", ""))
        if conn.password and url.password is None:
            url = url.set(password=conn.password)
        return url
    if conn_type == "sqlite":
        return URL.create("sqlite", database=conn.host or conn.schema)
    if conn_type in _DRIVERS:
        return URL.create(
            _DRIVERS[conn_type],
            username=conn.login or None,
            password=conn.password or None,
            host=conn.host or None,
            port=conn.port or None,
            database=conn.schema or None,
        )
    raise ValueError(
        f"Connection {conn.conn_id!r} has type {conn.conn_type!r}; use 'erp' (host = SQLAlchemy URL), "
        "'sqlite', 'postgres' or 'mysql'."
    )


def make_engine(url: URL | str) -> Engine:
    url = make_url(url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"timeout": 60})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # WAL lets readers work while the journal writes
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA busy_timeout=60000")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=4)


class ErpHook(BaseHook):
    """The ERP database. Any SQLAlchemy URL: SQLite by default, PostgreSQL and MariaDB for real."""

    conn_name_attr = "erp_conn_id"
    default_conn_name = "erp_default"
    conn_type = "erp"
    hook_name = "ERP database (SQLAlchemy)"

    def __init__(self, erp_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.erp_conn_id = erp_conn_id

    @cached_property
    def url(self) -> URL:
        """The connection's SQLAlchemy URL (with its password: never log it; lineage takes host and database)."""
        return sqlalchemy_url(self.get_connection(self.erp_conn_id))

    @cached_property
    def engine(self) -> Engine:
        """The ERP's engine, once its bookkeeping tables are known to be at this version's revision."""
        engine = make_engine(sqlalchemy_url(self.get_connection(self.erp_conn_id)))
        migrations.check(engine, self.erp_conn_id)
        return engine

    def get_conn(self) -> Engine:
        return self.engine

    def test_connection(self) -> tuple[bool, str]:
        """Connects, then checks the bookkeeping tables (the Test button says what to run when they are not there)."""
        try:
            engine = make_engine(sqlalchemy_url(self.get_connection(self.erp_conn_id)))
        except Exception as exc:  # noqa: BLE001 - the UI shows the reason
            return False, str(exc)
        connected = f"Connected to the ERP database ({engine.url.get_backend_name()})"
        try:
            with engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            migrations.check(engine, self.erp_conn_id)
            return True, connected + "."
        except migrations.ErpSchemaError as exc:
            return False, f"{connected}, but: {exc}"
        except Exception as exc:  # noqa: BLE001 - the UI shows the reason
            return False, str(exc)
        finally:
            engine.dispose()
