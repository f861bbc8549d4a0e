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


@pytest.fixture
def seal_blocks(record_many):  # type: ignore[no-untyped-def]
    """Record, append and seal one block per size given: seal_blocks(25, 15) → sizes 25, 40."""
    from ledger.services import append_all, seal_block_if_due

    def seal(*sizes: int):  # type: ignore[no-untyped-def]
        start, blocks = 0, []
        for size in sizes:
            record_many(size, start=start)
            append_all()
            blocks.append(seal_block_if_due(force=True))
            start += size
        return blocks

    return seal
