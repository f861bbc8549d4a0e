"""Sharing fixtures: the access fixtures (Acme's listing, Beta's grant) and profile files."""

import json

import pytest

# The access fixtures, imported so pytest finds them here too.
from access.tests.conftest import ask, granted, listing  # noqa: F401
from sharing import services

# 240 loans: enough rows for several Parquet files once the file size is set small.
MANY = b"loan_id,amount,opened,defaulted,region,customer\n" + b"".join(
    f"{i},{i * 10}.50,2024-{1 + i % 12:02d}-{1 + i % 28:02d},{'true' if i % 3 else 'false'},"
    f"{('north', 'south', 'east')[i % 3]},Person {i % 17}\n".encode()
    for i in range(1, 241)
)


@pytest.fixture
def profile(tmp_path):  # type: ignore[no-untyped-def]
    """Write a profile file for `user` on `grant` against `endpoint`; returns its path."""

    def make(user, grant, endpoint: str) -> str:  # type: ignore[no-untyped-def]
        token, secret = services.sharing_token_create(user=user, grant=grant)
        path = tmp_path / f"grant{grant.pk}-{user.username}-{token.pk}.share"
        path.write_text(
            json.dumps(services.profile_json(token=token, secret=secret, endpoint=endpoint))
        )
        return str(path)

    return make


@pytest.fixture(scope="session", autouse=True)
def _no_lingering_sessions(django_db_setup, django_db_blocker):  # type: ignore[no-untyped-def]
    """The delta_sharing client keeps its HTTP sessions open (keep-alive), and with them live
    server threads whose PostgreSQL connections outlast the tests; end them before the test
    database is dropped (this teardown runs before django_db_setup's)."""
    yield
    with django_db_blocker.unblock():
        from django.db import connection

        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
