"""``tools/bizi_witness.py``, the tlog-witness HTTP server, driven over real HTTP on 127.0.0.1.

A log is simulated with ``ledger.merkle`` and signed with ``ledger.notes``; a
forked log is the same log with one entry rewritten. Each test starts its own
server on port 0 in a thread, with its own state directory.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger import merkle, notes
from ledger.notes import Checkpoint
from tools.bizi_witness import (
    MAX_BODY_BYTES,
    WitnessService,
    load_signer_key,
    main,
    make_server,
)

ORIGIN = "bizi.example/ledger"
LOG = notes.signer_from_seed(ORIGIN, hashlib.sha256(b"log key").digest())
IMPOSTOR = notes.signer_from_seed(ORIGIN, hashlib.sha256(b"another key").digest())
OTHER_ORIGIN = notes.signer_from_seed("other.example/log", hashlib.sha256(b"other").digest())
WITNESS = notes.signer_from_seed(
    "witness.northbank.example/1", hashlib.sha256(b"witness").digest(), notes.COSIGNATURE_V1
)
NOW = 1_700_000_000


class Log:
    """An in-memory log: entries, its perfect-subtree store, signed checkpoints."""

    def __init__(self, entries: list[bytes], signer: notes.Signer = LOG) -> None:
        self.signer = signer
        result = merkle.append_leaves(0, [], [merkle.leaf_hash(e) for e in entries])
        self.nodes = {(n.level, n.index): n.hash for n in result.new_nodes}

    def get_node(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def root(self, size: int) -> bytes:
        return merkle.root_from_store(size, self.get_node)

    def checkpoint(self, size: int) -> bytes:
        cp = Checkpoint(self.signer.name, size, self.root(size))
        return notes.sign_note(cp.body(), [self.signer])

    def request(self, old: int, size: int) -> bytes:
        proof = merkle.consistency_proof(old, size, self.get_node)
        return notes.format_add_checkpoint(old, proof, self.checkpoint(size))


def entries(n: int) -> list[bytes]:
    return [b'{"i":%d}' % i for i in range(n)]


HONEST = Log(entries(40))
FORKED = Log([*entries(40)[:5], b'{"i":5,"rewritten":true}', *entries(40)[6:]])


class Running:
    """A witness server in a thread; ``post`` returns (status, content type, body)."""

    def __init__(self, state_dir: Path, log_vkeys: list[str] | None = None) -> None:
        self.service = WitnessService(
            WITNESS,
            state_dir,
            log_vkeys or [LOG.verifier().to_vkey()],
            clock=lambda: NOW,
        )
        self.server = make_server(self.service, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)

    def request(
        self, path: str, body: bytes | None, method: str = "POST"
    ) -> tuple[int, str, bytes]:
        req = urllib.request.Request(self.url + path, data=body, method=method)  # noqa: S310
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 (loopback)
                return resp.status, resp.headers["Content-Type"], resp.read()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.headers["Content-Type"], exc.read()

    def post(self, body: bytes) -> tuple[int, str, bytes]:
        return self.request("/add-checkpoint", body)


@pytest.fixture
def witness(tmp_path: Path) -> Iterator[Running]:
    running = Running(tmp_path / "state")
    yield running
    running.stop()


def assert_cosigned(response: tuple[int, str, bytes], request_body: bytes) -> None:
    """The response is a valid cosignature by WITNESS on the request's checkpoint."""
    status, content_type, body = response
    assert status == 200, body
    assert content_type.startswith("text/plain")
    checkpoint = notes.parse_add_checkpoint(request_body).checkpoint
    note = notes.parse_note(checkpoint).with_signatures(notes.parse_cosignatures(body))
    # Verify as a client would, with the witness's published (0x04) verifier key only.
    vkey = notes.parse_verifier_key(WITNESS.verifier().to_vkey())
    assert vkey.sig_type == notes.COSIGNATURE_V1
    verified = notes.verify_note(note, [vkey])
    (sig,) = verified.verified
    assert notes.cosignature_timestamp(sig) == NOW


def stored(state_dir: Path) -> dict:
    (path,) = state_dir.glob("*.json")
    assert path.name == hashlib.sha256(ORIGIN.encode()).hexdigest() + ".json"
    return json.loads(path.read_text())


# --- cosigning ---------------------------------------------------------------------


def test_first_checkpoint_is_cosigned_and_persisted(witness: Running, tmp_path: Path) -> None:
    body = HONEST.request(0, 8)
    assert_cosigned(witness.post(body), body)
    state = stored(tmp_path / "state")
    assert state["origin"] == ORIGIN and state["size"] == 8
    assert base64.b64decode(state["root_hash"]) == HONEST.root(8)
    assert state["checkpoint"].encode() == HONEST.checkpoint(8)


def test_honest_extension_with_consistency_proof_is_cosigned(witness: Running) -> None:
    for old, new in [(0, 8), (8, 13), (13, 32), (32, 32), (32, 40)]:
        body = HONEST.request(old, new)
        assert_cosigned(witness.post(body), body)


def test_fork_is_refused(witness: Running, tmp_path: Path) -> None:
    assert witness.post(HONEST.request(0, 8))[0] == 200
    # The forked log rewrote entry 5: its consistency proof from 8 cannot verify
    # against the root this witness cosigned at 8.
    status, _, body = witness.post(FORKED.request(8, 20))
    assert status == 422, body
    # The same size with another root is a 409 (not a stale size: no size body).
    status, content_type, body = witness.post(FORKED.request(8, 8))
    assert status == 409 and not content_type.startswith("text/x.tlog.size"), body
    assert stored(tmp_path / "state")["size"] == 8  # nothing changed
    # Both signed refusals are kept as evidence of the fork.
    assert len(list((tmp_path / "state" / "evidence").iterdir())) == 2
    # The honest log still goes on.
    body = HONEST.request(8, 20)
    assert_cosigned(witness.post(body), body)


def test_stale_old_size_gets_409_with_the_cosigned_size(witness: Running) -> None:
    assert witness.post(HONEST.request(0, 13))[0] == 200
    for old in (0, 8, 20):
        status, content_type, body = witness.post(HONEST.request(old, 32))
        assert (status, content_type, body) == (409, "text/x.tlog.size", b"13\n")


def test_unknown_origin_is_404(witness: Running) -> None:
    other = Log(entries(5), OTHER_ORIGIN)
    assert witness.post(other.request(0, 5))[0] == 404


def test_bad_signature_is_403(witness: Running) -> None:
    # Signed by a key with the log's name that this witness does not trust.
    assert witness.post(Log(entries(8), IMPOSTOR).request(0, 8))[0] == 403
    # A trusted key's signature over altered text.
    body = HONEST.request(0, 8).replace(b"\n8\n", b"\n9\n")
    assert witness.post(body)[0] == 403


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"garbage",
        b"old x\n\n",
        b"old 0\nnot-base64!\n\n" + HONEST.checkpoint(8),
        b"old 0\n" + HONEST.checkpoint(8),  # no blank line after the header
        b"\xff\xfe\n\n\n",
    ],
)
def test_garbage_is_400(witness: Running, body: bytes) -> None:
    status, _, _ = witness.post(body)
    assert status == 400


def test_old_size_above_checkpoint_size_is_400(witness: Running) -> None:
    body = notes.format_add_checkpoint(9, [], HONEST.checkpoint(8))
    assert witness.post(body)[0] == 400


def test_other_paths_and_methods(witness: Running) -> None:
    assert witness.request("/", None, "GET")[0] == 404
    assert witness.request("/add-checkpoint/x", b"x")[0] == 404
    assert witness.request("/add-checkpoint", None, "GET")[0] == 405
    assert witness.request("/add-checkpoint", b"x", "PUT")[0] == 405


def test_oversized_body_is_413(witness: Running) -> None:
    status, _, _ = witness.post(b"old 0\n\n" + b"x" * MAX_BODY_BYTES)
    assert status == 413


def test_state_survives_a_restart(tmp_path: Path) -> None:
    first = Running(tmp_path / "state")
    try:
        assert first.post(HONEST.request(0, 13))[0] == 200
    finally:
        first.stop()
    second = Running(tmp_path / "state")
    try:
        # A rollback to "never cosigned" is refused after the restart...
        assert second.post(HONEST.request(0, 20)) == (409, "text/x.tlog.size", b"13\n")
        assert second.post(FORKED.request(13, 20))[0] == 422
        # ...and the honest log continues from 13.
        body = HONEST.request(13, 20)
        assert_cosigned(second.post(body), body)
    finally:
        second.stop()


def test_unreadable_state_fails_closed(witness: Running, tmp_path: Path) -> None:
    assert witness.post(HONEST.request(0, 8))[0] == 200
    path = next((tmp_path / "state").glob("*.json"))
    path.write_text("{not json")
    # A broken state file must not read as "never cosigned" (old size 0).
    assert witness.post(HONEST.request(0, 20))[0] == 500
    assert witness.post(HONEST.request(8, 20))[0] == 500


def test_concurrent_requests_from_one_old_size_succeed_once(witness: Running) -> None:
    assert witness.post(HONEST.request(0, 4))[0] == 200
    # Eight clients race from old size 4 to different new sizes; the per-origin
    # lock lets exactly one win, and every other one is told the new size.
    targets = [6, 8, 13, 16, 20, 25, 32, 40]
    bodies = [HONEST.request(4, size) for size in targets]
    barrier = threading.Barrier(len(bodies))
    results: list[tuple[int, str, bytes] | None] = [None] * len(bodies)

    def send(i: int) -> None:
        barrier.wait()
        results[i] = witness.post(bodies[i])

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    winners = [i for i, r in enumerate(results) if r and r[0] == 200]
    assert len(winners) == 1, results
    won = targets[winners[0]]
    for i, r in enumerate(results):
        if i != winners[0]:
            assert r == (409, "text/x.tlog.size", f"{won}\n".encode()), r


def test_several_keys_per_origin_and_two_logs(tmp_path: Path) -> None:
    other = Log(entries(5), OTHER_ORIGIN)
    running = Running(
        tmp_path / "state",
        [
            LOG.verifier().to_vkey(),
            IMPOSTOR.verifier().to_vkey(),
            OTHER_ORIGIN.verifier().to_vkey(),
        ],
    )
    try:
        assert running.post(Log(entries(8), IMPOSTOR).request(0, 8))[0] == 200
        assert running.post(other.request(0, 5))[0] == 200
        assert len(list((tmp_path / "state").glob("*.json"))) == 2
    finally:
        running.stop()


def test_log_key_must_be_a_note_key(tmp_path: Path) -> None:
    with pytest.raises(notes.NoteError):
        WitnessService(WITNESS, tmp_path, [WITNESS.verifier().to_vkey()])


# --- the command line ------------------------------------------------------------------


def test_keygen_writes_a_usable_private_key(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "witness.key"
    assert main(["keygen", "--name", "witness.quill.example/1", "--out", str(out)]) == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    text = out.read_text()
    assert text.startswith("PRIVATE+KEY+witness.quill.example/1+")
    vkey = capsys.readouterr().out.strip()
    verifier = notes.parse_verifier_key(vkey)
    assert verifier.name == "witness.quill.example/1"
    assert verifier.sig_type == notes.COSIGNATURE_V1

    # The key file drives a witness whose cosignatures verify under the printed vkey.
    signer = load_signer_key(out)
    service = WitnessService(signer, tmp_path / "state", [LOG.verifier().to_vkey()])
    body = HONEST.request(0, 8)
    status, _, cosig = service.add_checkpoint(body)
    assert status == 200
    note = notes.parse_note(notes.parse_add_checkpoint(body).checkpoint)
    notes.verify_note(note.with_signatures(notes.parse_cosignatures(cosig)), [verifier])


def test_keygen_refuses_to_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "witness.key"
    out.write_text("precious\n")
    assert main(["keygen", "--name", "w", "--out", str(out)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert out.read_text() == "precious\n"


def test_keygen_refuses_a_bad_name(tmp_path: Path) -> None:
    assert main(["keygen", "--name", "bad+name", "--out", str(tmp_path / "k")]) == 2
    assert not (tmp_path / "k").exists()


def test_serve_command_answers_over_http(tmp_path: Path) -> None:
    key = tmp_path / "witness.key"
    key.write_text(WITNESS.to_skey() + "\n")
    key.chmod(0o600)
    root = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen(  # noqa: S603 (our own tool, fixed arguments)
        [
            sys.executable,
            "-m",
            "tools.bizi_witness",
            "serve",
            "--key",
            str(key),
            "--state",
            str(tmp_path / "state"),
            "--log",
            LOG.verifier().to_vkey(),
            "--listen",
            "127.0.0.1:0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=root,
    )
    try:
        assert proc.stdout is not None and proc.stderr is not None
        lines = []
        for line in proc.stdout:
            lines.append(line.strip())
            if line.startswith("listening on "):
                break
        else:
            pytest.fail(f"the witness did not start: {lines} {proc.stderr.read()}")
        assert f"witness {WITNESS.verifier().to_vkey()}" in lines, lines
        assert f"witnessing log {ORIGIN}" in lines, lines
        url = lines[-1].split()[-1]
        body = HONEST.request(0, 8)
        req = urllib.request.Request(url, data=body, method="POST")  # noqa: S310
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 (loopback)
            status, cosig = resp.status, resp.read()
        assert status == 200
        note = notes.parse_note(notes.parse_add_checkpoint(body).checkpoint)
        notes.verify_note(
            note.with_signatures(notes.parse_cosignatures(cosig)),
            [WITNESS.verifier()],
        )
        # The server logs a request after answering it: wait for the line rather than race it.
        logged = []
        for line in proc.stderr:
            logged.append(line)
            if "/add-checkpoint" in line:
                break
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    # One log line per request, naming the origin and the outcome.
    request_lines = [line for line in [*logged, *err.splitlines()] if "/add-checkpoint" in line]
    assert len(request_lines) == 1 and " 200 " in request_lines[0], err
    assert ORIGIN in request_lines[0] and "cosigned" in request_lines[0]


def test_the_witness_needs_no_django() -> None:
    # A member institution runs it with the ledger's pure modules beside it and nothing else.
    root = Path(__file__).resolve().parents[2]
    check = "import sys, tools.bizi_witness; print(sorted(m for m in sys.modules if 'django' in m))"
    result = subprocess.run(  # noqa: S603 (our own tool, fixed arguments)
        [sys.executable, "-c", check],
        cwd=root,
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "[]"
