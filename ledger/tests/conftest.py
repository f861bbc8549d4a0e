import pytest
from django.db import transaction

from ledger.services import record_event


@pytest.fixture
def record_many():  # type: ignore[no-untyped-def]
    """Record `n` events in one transaction, as a service would."""

    def record(n: int, *, kind: str = "dataset.published", actor=None, start: int = 0):  # type: ignore[no-untyped-def]
        with transaction.atomic():
            return [
                record_event(kind, actor, {"dataset": f"ds-{(start + i) % 7}", "n": start + i})
                for i in range(n)
            ]

    return record
