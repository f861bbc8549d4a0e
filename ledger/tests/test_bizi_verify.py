"""``tools/bizi_verify.py`` against a fake portal built from the ledger's pure modules.

The fake serves the five endpoints the verifier reads, in the formats the
portal promises, from an in-memory log (``ledger.merkle``, ``ledger.notes``,
``ledger.canonical``). The verifier runs as a subprocess from a temporary
directory, so it cannot import the project even by accident.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import json
import re
import subprocess
import sys
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ledger import canonical, commitments, merkle, notes

VERIFIER = Path(__file__).resolve().parents[2] / "tools" / "bizi_verify.py"
ORIGIN = "bizi.example/ledger"
LOG = notes.signer_from_seed(ORIGIN, hashlib.sha256(b"log key").digest())
IMPOSTOR = notes.signer_from_seed(ORIGIN, hashlib.sha256(b"impostor").digest())
WITNESS = notes.signer_from_seed(
    "witness.northbank.example/1", hashlib.sha256(b"witness").digest(), notes.COSIGNATURE_V1
)
OTHER_WITNESS = notes.signer_from_seed(
    "witness.harbor.example/1", hashlib.sha256(b"w2").digest(), notes.COSIGNATURE_V1
)
TOKEN = "t0k-reader"
PAGE = 20  # the fake serves fewer entries per call than asked, to exercise paging


def make_entry(i: int, rewritten: bool = False) -> dict[str, Any]:
    return {
        "v": 1,
        "kind": "dataset.published" if i % 3 else "access.approved",
        "time": f"2025-01-01T00:{i // 60:02d}:{i % 60:02d}Z",
        "actor": {"institution": "northbank", "user": "sam"},
        # Non-ASCII on purpose: canonical bytes carry it as UTF-8, not \\u escapes.
        "subject": {"dataset": i, "title": f"Zürich branch loans {i} €", "rewritten": rewritten},
    }


class Log:
    """Entries as canonical bytes, the perfect-subtree store, signed checkpoints."""

    def __init__(self, values: list[dict[str, Any]]) -> None:
        self.values = values
        self.data = [canonical.canonical_json(v) for v in values]
        self.leaves = [merkle.leaf_hash(d) for d in self.data]
        result = merkle.append_leaves(0, [], self.leaves)
        self.nodes = {(n.level, n.index): n.hash for n in result.new_nodes}

    @property
    def size(self) -> int:
        return len(self.data)

    def get_node(self, level: int, index: int) -> bytes:
        return self.nodes[(level, index)]

    def root(self, size: int) -> bytes:
        return merkle.root_from_store(size, self.get_node)


def honest_log(n: int) -> Log:
    return Log([make_entry(i) for i in range(n)])


def forked_log(n: int, at: int) -> Log:
    return Log([make_entry(i, rewritten=i == at) for i in range(n)])


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@dataclass
class Portal:
    """What the fake serves; tests change these fields between runs."""

    log: Log
    signer: notes.Signer = LOG
    served_vkey: str = field(default_factory=lambda: LOG.verifier().to_vkey())
    witnesses: list[notes.Signer] = field(default_factory=lambda: [WITNESS])
    # index -> (bytes served instead, decoded entry served, leaf hash served)
    tampered: dict[int, tuple[bytes, Any, str]] = field(default_factory=dict)
    bad_inclusion: bool = False

    def checkpoint(self) -> bytes:
        cp = notes.Checkpoint(ORIGIN, self.log.size, self.log.root(self.log.size))
        note = notes.parse_note(notes.sign_checkpoint(cp, self.signer))
        cosigs = [notes.cosign_checkpoint(cp, w, 1_700_000_000) for w in self.witnesses]
        return note.with_signatures(cosigs).to_bytes()

    def entries(self, start: int, end: int) -> dict[str, Any]:
        items = []
        for i in range(start, min(end, self.log.size, start + PAGE)):
            data, entry, leaf = self.log.data[i], self.log.values[i], self.log.leaves[i].hex()
            if i in self.tampered:
                data, entry, leaf = self.tampered[i]
            items.append(
                {
                    "index": i,
                    "kind": entry["kind"],
                    "data": b64(data),
                    "leaf_hash": leaf,
                    "entry": entry,
                }
            )
        return {"tree_size": self.log.size, "entries": items}

    def inclusion(self, index: int, size: int) -> dict[str, Any]:
        hashes = merkle.inclusion_proof(index, size, self.log.get_node)
        if self.bad_inclusion and hashes:
            hashes[0] = hashlib.sha256(b"wrong").digest()
        return {
            "index": index,
            "tree_size": size,
            "leaf_hash": b64(self.log.leaves[index]),
            "hashes": [b64(h) for h in hashes],
            "root_hash": b64(self.log.root(size)),
        }

    def consistency(self, first: int, second: int) -> dict[str, Any]:
        hashes = merkle.consistency_proof(first, second, self.log.get_node)
        return {"first": first, "second": second, "hashes": [b64(h) for h in hashes]}


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        portal = self.server.portal
        if self.headers.get("Authorization") != f"Bearer {TOKEN}":
            self._reply(401, "text/plain", b"authentication required\n")
            return
        url = urllib.parse.urlparse(self.path)
        q = {k: int(v[0]) for k, v in urllib.parse.parse_qs(url.query).items()}
        routes: dict[str, Callable[[], tuple[str, Any]]] = {
            "/api/v1/ledger/public-key": lambda: ("text/plain", portal.served_vkey + "\n"),
            "/api/v1/ledger/checkpoint": lambda: ("text/plain", portal.checkpoint()),
            "/api/v1/ledger/entries/": lambda: ("json", portal.entries(q["start"], q["end"])),
            "/api/v1/ledger/proofs/inclusion/": lambda: (
                "json",
                portal.inclusion(q["index"], q["tree_size"]),
            ),
            "/api/v1/ledger/proofs/consistency/": lambda: (
                "json",
                portal.consistency(q["first"], q["second"]),
            ),
        }
        if url.path not in routes:
            self._reply(404, "text/plain", b"not found\n")
            return
        kind, body = routes[url.path]()
        self.server.hits[url.path] = self.server.hits.get(url.path, 0) + 1
        if kind == "json":
            self._reply(200, "application/json", json.dumps(body).encode())
        else:
            self._reply(
                200, "text/plain; charset=utf-8", body if isinstance(body, bytes) else body.encode()
            )

    def _reply(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, portal: Portal) -> None:
        self.portal = portal
        self.hits: dict[str, int] = {}
        super().__init__(("127.0.0.1", 0), _Handler)


@pytest.fixture
def fake() -> Iterator[_Server]:
    server = _Server(Portal(honest_log(50)))
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


def run(
    server: _Server, *args: str, token: str | None = TOKEN, cwd: Path
) -> subprocess.CompletedProcess:
    url = f"http://127.0.0.1:{server.server_address[1]}"
    command = [sys.executable, str(VERIFIER), "--url", url, *args]
    if token:
        command += ["--token", token]
    return subprocess.run(  # noqa: S603 (our own script, fixed arguments)
        command, capture_output=True, text=True, timeout=60, cwd=cwd, check=False
    )


def last_line(result: subprocess.CompletedProcess) -> str:
    lines = result.stdout.strip().splitlines()
    return lines[-1] if lines else ""


VKEY = LOG.verifier().to_vkey()
WITNESS_VKEY = WITNESS.verifier().to_vkey()


# --- an honest log ---------------------------------------------------------------------


def test_honest_log_verifies(fake: _Server, tmp_path: Path) -> None:
    result = run(fake, "--vkey", VKEY, "--witness-vkey", WITNESS_VKEY, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    root = b64(fake.portal.log.root(50))
    assert last_line(result) == f"OK: verified 50 entries up to tree size 50, root {root}"
    assert "cosigned by witness witness.northbank.example/1" in result.stdout
    assert "TOFU" not in result.stdout
    # Every entry in pages of at most PAGE, and 16 inclusion proofs.
    assert fake.hits["/api/v1/ledger/entries/"] == 3
    assert fake.hits["/api/v1/ledger/proofs/inclusion/"] == 16


def test_trust_on_first_use_is_stated(fake: _Server, tmp_path: Path) -> None:
    result = run(fake, "--sample", "0", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"^TOFU .*" + re.escape(VKEY), result.stdout, re.M)
    assert "/api/v1/ledger/proofs/inclusion/" not in fake.hits


def test_vkey_file_and_empty_log(fake: _Server, tmp_path: Path) -> None:
    (tmp_path / "log.vkey").write_text(f"\n{VKEY}\n")
    fake.portal.log = honest_log(0)
    result = run(fake, "--vkey-file", "log.vkey", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert last_line(result) == (
        f"OK: verified 0 entries up to tree size 0, root {b64(hashlib.sha256(b'').digest())}"
    )


# --- a log that does not check out -----------------------------------------------------


@pytest.mark.parametrize("mode", ["bytes only", "bytes and entry", "bytes, entry and leaf hash"])
def test_tampered_entry_is_named(fake: _Server, tmp_path: Path, mode: str) -> None:
    log = fake.portal.log
    data = log.data[17].replace(b'"dataset":17', b'"dataset":71')
    entry = log.values[17] if mode == "bytes only" else json.loads(data)
    leaf = merkle.leaf_hash(data).hex() if "leaf" in mode else log.leaves[17].hex()
    fake.portal.tampered[17] = (data, entry, leaf)
    result = run(fake, "--vkey", VKEY, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    line = last_line(result)
    assert line.startswith("FAILED: ") and "17" in line, line
    if mode == "bytes, entry and leaf hash":
        # Everything the entry endpoint says agrees; only the signed root
        # catches it, and bisection with consistency proofs names the entry.
        assert line.startswith("FAILED: entry 17 is not the one the log signed"), line


def test_non_canonical_bytes_are_refused(fake: _Server, tmp_path: Path) -> None:
    log = fake.portal.log
    data = json.dumps(log.values[3], ensure_ascii=True, sort_keys=True).encode()  # spaces, \\u
    fake.portal.tampered[3] = (data, log.values[3], merkle.leaf_hash(data).hex())
    result = run(fake, "--vkey", VKEY, cwd=tmp_path)
    assert result.returncode == 1
    assert last_line(result) == "FAILED: entry 3: entry bytes are not canonical JSON"


def test_checkpoint_signed_by_another_key_fails(fake: _Server, tmp_path: Path) -> None:
    fake.portal.signer = IMPOSTOR
    result = run(fake, cwd=tmp_path)  # even trusting the served key on first use
    assert result.returncode == 1
    assert "not signed by the log key" in last_line(result)


def test_wrong_pinned_vkey_fails(fake: _Server, tmp_path: Path) -> None:
    result = run(fake, "--vkey", IMPOSTOR.verifier().to_vkey(), cwd=tmp_path)
    assert result.returncode == 1
    assert last_line(result).startswith("FAILED: the portal serves log key ")


def test_missing_witness_cosignature_fails(fake: _Server, tmp_path: Path) -> None:
    result = run(fake, "--witness-vkey", OTHER_WITNESS.verifier().to_vkey(), cwd=tmp_path)
    assert result.returncode == 1
    assert "no cosignature from witness witness.harbor.example/1" in last_line(result)


def test_bad_inclusion_proof_fails(fake: _Server, tmp_path: Path) -> None:
    fake.portal.bad_inclusion = True
    result = run(fake, "--vkey", VKEY, cwd=tmp_path)
    assert result.returncode == 1
    assert last_line(result).startswith("FAILED: inclusion proof for entry 0 at size 50")


# --- across runs, with --state -----------------------------------------------------------


def test_state_accepts_an_honest_extension_and_catches_a_fork(
    fake: _Server, tmp_path: Path
) -> None:
    state = "ledger.state"
    first = run(fake, "--vkey", VKEY, "--state", state, cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    saved = json.loads((tmp_path / state).read_text())
    assert (saved["size"], saved["vkey"]) == (50, VKEY)

    fake.portal.log = honest_log(60)
    second = run(fake, "--state", state, cwd=tmp_path)  # the key is pinned by the state now
    assert second.returncode == 0, second.stdout + second.stderr
    assert "consistent with the previous run from size 50" in second.stdout
    assert json.loads((tmp_path / state).read_text())["size"] == 60

    # The portal rewrites entry 10 and grows: a fork of what was verified at 60.
    fake.portal.log = forked_log(70, at=10)
    third = run(fake, "--state", state, cwd=tmp_path)
    assert third.returncode == 1, third.stdout
    line = last_line(third)
    assert line.startswith("FAILED: FORK: consistency proof from size 60"), line
    assert json.loads((tmp_path / state).read_text())["size"] == 60  # not overwritten


def test_state_catches_a_rollback_and_a_key_change(fake: _Server, tmp_path: Path) -> None:
    assert run(fake, "--state", "s", cwd=tmp_path).returncode == 0
    fake.portal.log = honest_log(40)
    result = run(fake, "--state", "s", cwd=tmp_path)
    assert result.returncode == 1 and "ROLLBACK" in last_line(result)

    fake.portal.log = honest_log(50)
    fake.portal.signer = IMPOSTOR
    fake.portal.served_vkey = IMPOSTOR.verifier().to_vkey()
    result = run(fake, "--state", "s", cwd=tmp_path)
    assert result.returncode == 1 and "log key changed" in last_line(result)


# --- usage and network errors ---------------------------------------------------------------


def test_network_and_auth_errors_exit_2(fake: _Server, tmp_path: Path) -> None:
    result = run(fake, token=None, cwd=tmp_path)
    assert result.returncode == 2 and "HTTP 401" in result.stderr
    closed = subprocess.run(  # noqa: S603
        [sys.executable, str(VERIFIER), "--url", "http://127.0.0.1:9"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert closed.returncode == 2 and closed.stderr.startswith("ERROR: GET ")
    assert run(fake, "--vkey", "nonsense", cwd=tmp_path).returncode == 2


# --- standalone ---------------------------------------------------------------------------


def test_verifier_imports_only_the_standard_library_and_pycryptodome() -> None:
    tree = ast.parse(VERIFIER.read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative import"
            imported.add((node.module or "").split(".")[0])
    imported.discard("__future__")
    outside = {m for m in imported if m not in sys.stdlib_module_names and m != "Crypto"}
    assert not outside, f"bizi_verify.py imports {outside}"
    assert "Crypto" in imported


def _load_verifier_module() -> Any:
    import importlib.util

    spec = importlib.util.spec_from_file_location("bizi_verify", VERIFIER)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reimplemented_merkle_code_agrees_with_the_ledger() -> None:
    """The verifier's own RFC 9162 code against ``ledger.merkle``, every size and pair to 33."""
    bv = _load_verifier_module()
    log = honest_log(33)
    wrong = hashlib.sha256(b"wrong").digest()
    for size in range(34):
        root = log.root(size)
        assert bv.merkle_root(log.leaves[:size]) == root
        for index in range(size):
            proof = merkle.inclusion_proof(index, size, log.get_node)
            assert bv.verify_inclusion(log.leaves[index], index, size, proof, root) is None
            assert bv.verify_inclusion(wrong, index, size, proof, root) is not None
            if proof:
                assert bv.verify_inclusion(log.leaves[index], index, size, proof[:-1], root)
        for first in range(size + 1):
            proof = merkle.consistency_proof(first, size, log.get_node)
            old = log.root(first)
            assert bv.verify_consistency(first, size, proof, old, root) is None
            if 0 < first < size:
                assert bv.verify_consistency(first, size, proof, wrong, root) is not None
                assert bv.verify_consistency(first, size, proof, old, wrong) is not None
                bent = [wrong, *proof[1:]]
                assert bv.verify_consistency(first, size, bent, old, root) is not None


# --- openings of commitments (--open) --------------------------------------------------

SALT = bytes(range(100, 132))
PURPOSE = "Fraud review of customer ACC-998877 and her cards"


def committed_log(n: int = 9, at: int = 4) -> Log:
    values = [make_entry(i) for i in range(n)]
    values[at] = {
        "v": 2,
        "kind": "access.requested",
        "time": "2026-01-01T00:00:00Z",
        "actor": {"institution": "harbor"},
        "subject": {"request": 12, "columns": ["amount"]},
        "commitments": {"purpose": commitments.commitment(SALT, PURPOSE).hex()},
    }
    return Log(values)


def test_open_checks_an_entry_fetched_and_proved_in_the_signed_checkpoint(
    fake: _Server, tmp_path: Path
) -> None:
    fake.portal.log = committed_log()
    args = ["--vkey", VKEY, "--index", "4", "--open", "purpose", PURPOSE, SALT.hex()]
    result = run(fake, *args, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "entry 4 is included in the signed checkpoint of size 9" in result.stdout
    assert last_line(result).startswith("OK: entry 4 commits to exactly this purpose")
    # One character off, or another salt: a verdict, not an error.
    for value, salt in ((PURPOSE + ".", SALT), (PURPOSE, bytes(32))):
        args = ["--vkey", VKEY, "--index", "4", "--open", "purpose", value, salt.hex()]
        wrong = run(fake, *args, cwd=tmp_path)
        assert (
            wrong.returncode == 1 and "FAILED: entry 4 commits to another purpose" in wrong.stdout
        )
    absent = run(
        fake, "--vkey", VKEY, "--index", "3", "--open", "purpose", PURPOSE, SALT.hex(), cwd=tmp_path
    )
    assert absent.returncode == 1 and "has no commitment named 'purpose'" in absent.stdout


def test_open_refuses_an_entry_the_checkpoint_does_not_include(
    fake: _Server, tmp_path: Path
) -> None:
    fake.portal.log = committed_log()
    fake.portal.bad_inclusion = True
    args = ["--vkey", VKEY, "--index", "4", "--open", "purpose", PURPOSE, SALT.hex()]
    result = run(fake, *args, cwd=tmp_path)
    assert result.returncode == 1 and "inclusion proof for entry 4" in result.stdout


def test_open_works_offline_from_the_entry_bytes(tmp_path: Path) -> None:
    data = committed_log().data[4]
    (tmp_path / "entry.json").write_bytes(data)
    (tmp_path / "entry.b64").write_text(b64(data) + "\n")
    for name in ("entry.json", "entry.b64"):
        command = [sys.executable, str(VERIFIER), "--entry-file", name]
        command += ["--open", "purpose", PURPOSE, SALT.hex()]
        result = subprocess.run(  # noqa: S603 (our own script)
            command, capture_output=True, text=True, timeout=60, cwd=tmp_path, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert last_line(result).startswith("OK: the entry commits to exactly this purpose")
    bad_salt = subprocess.run(  # noqa: S603 (our own script)
        [
            sys.executable,
            str(VERIFIER),
            "--entry-file",
            "entry.json",
            "--open",
            "purpose",
            PURPOSE,
            "abc",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert bad_salt.returncode == 2 and "salt must be 32 bytes" in bad_salt.stderr
    usage = subprocess.run(  # noqa: S603 (our own script)
        [sys.executable, str(VERIFIER), "--open", "purpose", PURPOSE, SALT.hex()],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert usage.returncode == 2 and "--open needs --index" in usage.stderr
