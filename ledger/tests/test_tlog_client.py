"""A standard tlog client reads the portal's tiles: the Go checksum database's own code
(golang.org/x/mod/sumdb/note and tlog, from Debian), which the portal shares nothing with,
verifies the checkpoint, authenticates every tile against the signed root and checks
inclusion proofs it builds from them — from the live portal and from an exported mirror."""

import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

from consortium.services import api_token_issue
from ledger.keys import log_verifier
from ledger.services import append_all, seal_block_if_due

pytestmark = [pytest.mark.golang, pytest.mark.django_db(transaction=True)]


def run(client: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our test program
        [str(client), "-vkey", log_verifier().to_vkey(), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def log_of_600(record_many):  # type: ignore[no-untyped-def]
    # Two blocks, so the client reads partial tiles of a size a checkpoint had, and full ones.
    record_many(300)
    append_all()
    seal_block_if_due(force=True)
    record_many(300, start=300)
    append_all()
    seal_block_if_due(force=True)


def test_the_go_client_verifies_the_live_portal(live_server, tlog_client, log_of_600, cast):
    _, token = api_token_issue(user=cast.aud)
    base = f"{live_server.url}/api/v1/ledger/tlog"
    result = run(tlog_client, "-base", base, "-token", token, "-index", "417", "-all")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "checkpoint: size 600" in result.stdout
    assert "entry 417: included" in result.stdout
    assert "all 600 entries match their tiles" in result.stdout
    refused = run(tlog_client, "-base", base, "-index", "1")  # no token: not a member
    assert refused.returncode == 1 and "401" in refused.stdout


def test_the_go_client_verifies_an_exported_mirror_and_catches_a_changed_tile(
    tmp_path, tlog_client, log_of_600
):
    mirror = tmp_path / "mirror"
    call_command("ledger_export_tiles", str(mirror))
    assert (mirror / "checkpoint").read_text().splitlines()[1] == "600"
    assert (mirror / "tile/0/002.p/88").stat().st_size == 88 * 32
    assert (mirror / "tile/1/000.p/2").stat().st_size == 2 * 32
    assert (mirror / "policy").read_text().startswith("# The BIZi portal")
    result = run(tlog_client, "-base", str(mirror), "-index", "599", "-all")
    assert result.returncode == 0, result.stdout + result.stderr
    # One flipped bit in a level-0 tile: the client refuses it against the signed root.
    tile = mirror / "tile/0/001"
    data = bytearray(tile.read_bytes())
    data[100] ^= 1
    tile.write_bytes(bytes(data))
    result = run(tlog_client, "-base", str(mirror), "-index", "300")
    assert result.returncode == 1 and "FAILED" in result.stdout
    # A changed entry no longer matches its tile.
    tile.write_bytes(bytes(data[:100]) + bytes([data[100] ^ 1]) + bytes(data[101:]))
    bundle = mirror / "tile/entries/000"
    raw = bytearray(bundle.read_bytes())
    raw[-3] ^= 1
    bundle.write_bytes(bytes(raw))
    result = run(tlog_client, "-base", str(mirror), "-all")
    assert result.returncode == 1 and "does not hash to its level-0 tile" in result.stdout
