"""Scratch databases for a measured run: fresh PostgreSQL databases and an emptied Redis database.

The server is the local one (127.0.0.1:5432, user postgres, trust auth); every round drops
and creates its databases, so no run sees another's rows.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import closing, contextmanager

import psycopg2
import redis
from psycopg2 import sql

SERVER = "postgres@127.0.0.1:5432"
NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def postgres_url(database: str, driver: str = "postgresql+psycopg2") -> str:
    return f"{driver}://{SERVER}/{database}"


def _run(statement: str, database: str) -> None:
    if not NAME.match(database):
        raise ValueError(f"not a plain database name: {database!r}")
    # Not ``with connection``: psycopg2 opens a transaction there, and CREATE / DROP DATABASE refuse one.
    with closing(psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")) as connection:
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL(statement).format(sql.Identifier(database)))


def drop_database(database: str) -> None:
    # FORCE: a process that was killed may have left a session open.
    _run("DROP DATABASE IF EXISTS {} WITH (FORCE)", database)


def create_database(database: str) -> str:
    """A new, empty database (dropped first when it exists); returns its SQLAlchemy URL."""
    drop_database(database)
    _run("CREATE DATABASE {}", database)
    return postgres_url(database)


@contextmanager
def scratch_databases(*databases: str) -> Iterator[list[str]]:
    """Fresh databases for the block, dropped afterwards; yields their URLs."""
    urls = []
    try:
        for database in databases:
            urls.append(create_database(database))
        yield urls
    finally:
        for database in databases:
            drop_database(database)


def flush_redis(url: str) -> None:
    """Empty one Redis database (the broker's queues of an earlier round)."""
    client = redis.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()
