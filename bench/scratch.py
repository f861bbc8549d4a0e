"""Scratch databases for benchmarks: never the configured database, always dropped after."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


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


def setup_django(var_dir: Path) -> None:
    """Set Django up in this process with its run-time files under `var_dir`."""
    os.environ["BIZI_VAR_DIR"] = str(var_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    root = str(Path(__file__).resolve().parent.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    import django

    django.setup()


def create_django_database(name: str) -> tuple[str, str]:
    """In a process whose Django is set up: a fresh, migrated database of the benchmark's own,
    made by Django's test-database machinery (`name_<pid>` on PostgreSQL, a file under
    BIZI_VAR_DIR on SQLite). Returns (engine, old name) for `destroy_test_db`."""
    from django.db import connection

    engine = connection.vendor
    settings_dict = connection.settings_dict
    old_name = settings_dict["NAME"]
    test = settings_dict.setdefault("TEST", {})
    if engine == "postgresql":
        test["NAME"] = f"{name}_{os.getpid()}"
    else:
        test["NAME"] = str(Path(os.environ["BIZI_VAR_DIR"]) / f"{name}.sqlite3")
    connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
    return engine, old_name


def drop_django_database(created: tuple[str, str] | None, var_dir: Path) -> None:
    """Undo `create_django_database` (when it ran) and remove the run-time files."""
    if created is not None:
        from django.db import connection

        connection.creation.destroy_test_db(created[1], verbosity=0)
    shutil.rmtree(var_dir, ignore_errors=True)
