import threading

import pytest
from django.db import transaction

from ledger.keys import log_verifier
from ledger.notes import generate_signer
from ledger.services import record_event
from tools.bizi_witness import WitnessService, make_server


@pytest.fixture
def record_many():
    """Record `n` events in one transaction, as a service would."""

    def record(n: int, *, kind: str = "dataset.published", actor=None, start: int = 0):
        with transaction.atomic():
            return [
                record_event(kind, actor, {"dataset": f"ds-{(start + i) % 7}", "n": start + i})
                for i in range(n)
            ]

    return record


@pytest.fixture
def seal_blocks(record_many):
    """Record, append and seal one block per size given: seal_blocks(25, 15) → sizes 25, 40."""
    from ledger.services import append_all, seal_block_if_due

    def seal(*sizes: int):
        start, blocks = 0, []
        for size in sizes:
            record_many(size, start=start)
            append_all()
            blocks.append(seal_block_if_due(force=True))
            start += size
        return blocks

    return seal


@pytest.fixture
def witness_service(tmp_path):
    """A C2SP tlog-witness server on loopback that cosigns this log: (service, base URL)."""
    service = WitnessService(
        generate_signer("witness.northbank.example", 0x04),
        tmp_path / "witness-state",
        [log_verifier().to_vkey()],
    )
    server = make_server(service, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield service, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
