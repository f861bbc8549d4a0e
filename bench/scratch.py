"""Scratch databases for benchmarks: never the configured database, always dropped after."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


def engines(name: str) -> list[tuple[str, str | None]]:
    """("sqlite", None) always, and ("postgresql", URL of a scratch database `name`) when
    DATABASE_URL points at a PostgreSQL server."""
    targets: list[tuple[str, str | None]] = [("sqlite", None)]
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        targets.append(("postgresql", url.rsplit("/", 1)[0] + f"/{name}"))
    return targets


@contextmanager
def scratch_database(url: str | None) -> Iterator[None]:
    """Create the database at `url` empty, and drop it afterwards (nothing for SQLite)."""
    if url is None:
        yield
        return
    server, name = url.rsplit("/", 1)
    admin = server + "/postgres"
    _run(admin, f'DROP DATABASE IF EXISTS "{name}"')
    _run(admin, f'CREATE DATABASE "{name}"')
    try:
        yield
    finally:
        _run(admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _run(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)
