"""A C2SP tlog-witness HTTP server: what a member institution runs on its own machine.

Spec: https://c2sp.org/tlog-witness. The server answers ``POST /add-checkpoint``
with the decision of :func:`ledger.witness_core.decide_add_checkpoint`; any
other path is 404 and any other method on that path is 405. It uses only the
standard library's ``http.server``, pycryptodome (Ed25519) and the ledger's pure
modules (``ledger.notes``, ``ledger.merkle``, ``ledger.witness_core``, which the
portal also uses): no Django, no database. Run it from a checkout of the portal
(``tools/`` beside ``ledger/``)::

    python -m tools.bizi_witness keygen --name NAME --out KEYFILE
    python -m tools.bizi_witness serve --key KEYFILE --state DIR --log VKEY [--log VKEY ...]
        [--listen HOST:PORT]

``keygen`` writes a new Ed25519 witness signer key (``PRIVATE+KEY+NAME+...``,
mode 0600, never overwriting) and prints its verifier key, which the institution
registers with the portal. ``serve`` answers for the logs whose verifier keys
are given, keeping the last cosigned checkpoint of each in DIR: the witness's
whole state is DIR. Tests start a server on port 0 in a thread (:func:`make_server`).

State
-----
One file per log origin in the state directory, named from the SHA-256 of the
origin (so no origin can name a path outside the directory), holding the size
and root hash of the latest checkpoint this witness cosigned, plus that signed
checkpoint itself. It is replaced atomically (temporary file, fsync,
``os.replace``, fsync of the directory) while a per-origin lock is held around
*load → decide → persist*, and the response is sent only after that.

SPEC: tlog-witness "checking the old size against the latest checkpoint and
persisting the new checkpoint must be performed atomically" and "The witness
MUST persist the new checkpoint before responding."

A state file that exists but cannot be read is never taken for "never
cosigned": that would let the log roll this witness back. Such a request gets
500 until an operator looks.

Checkpoints that a trusted log key signed but that this witness refused as a
fork (409 with a different root at the same size) or with a failing
consistency proof (422) are kept under ``evidence/`` in the state directory:
together with the stored checkpoint they prove that the log misbehaved (SPEC:
tlog-witness "the witness MAY log the request even if the consistency proof
doesn't verify").
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import logging
import os
import socket
import stat
import sys
import tempfile
import threading
import time
from argparse import ArgumentParser
from collections.abc import Callable, Iterable, Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from ledger import notes
from ledger.notes import NoteError, Signer, Verifier
from ledger.witness_core import (
    CONFLICT,
    SIZE_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    UNPROCESSABLE,
    WitnessDecision,
    WitnessState,
    decide_add_checkpoint,
)

try:  # POSIX only; on other systems the in-process lock is the only one.
    import fcntl
except ImportError:  # pragma: no cover - not on the platforms we test
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "ADD_CHECKPOINT_PATH",
    "MAX_BODY_BYTES",
    "StateError",
    "WitnessService",
    "generate_key_file",
    "load_signer_key",
    "main",
    "make_server",
    "parse_listen",
]

logger = logging.getLogger("bizi_witness")

# SPEC: tlog-witness "POST <prefix>/add-checkpoint"; this witness has no prefix.
ADD_CHECKPOINT_PATH = "/add-checkpoint"

# A checkpoint with 100 signatures and 63 proof lines is well under 64 KiB;
# 1 MiB leaves room for long extension lines and still bounds memory per
# request.
MAX_BODY_BYTES = 1 << 20

# Oversized bodies up to this size are read and discarded so that the 413
# reaches the client (see _Handler._drain); larger ones get the connection cut.
MAX_DRAIN_BYTES = 8 << 20

# How long a connection may stall while sending its request before the
# handler thread gives up (the threading server keeps one thread per client).
REQUEST_TIMEOUT_SECONDS = 30

Response = tuple[int, str, bytes]

_STATE_VERSION = 1


class StateError(RuntimeError):
    """A state file exists but is unreadable or inconsistent (fail closed)."""


# --- keys -------------------------------------------------------------------------


def load_signer_key(path: str | os.PathLike[str]) -> Signer:
    """Read a ``PRIVATE+KEY+...`` signer key file (first line, whitespace stripped).

    Raises :class:`NoteError` if the file does not hold a valid Ed25519 signer
    key (type 0x01 or 0x04), ``OSError`` if it cannot be read.
    """
    text = Path(path).read_text(encoding="utf-8").strip()
    return notes.parse_signer_key(text)


def generate_key_file(name: str, out: str | os.PathLike[str]) -> Signer:
    """Write a fresh witness signer key to ``out`` (mode 0600) and return it.

    The key is a cosignature/v1 key (type 0x04, as tlog-cosignature keys are
    usually published), so its verifier key string carries the same key ID as
    the cosignature lines the witness writes. Refuses to overwrite: raises
    ``FileExistsError`` if ``out`` exists, :class:`NoteError` for an invalid
    key name.
    """
    signer = notes.generate_signer(name, notes.COSIGNATURE_V1)
    data = (signer.to_skey() + "\n").encode("ascii")
    # O_EXCL: never replace an existing key (it may be the only copy). The
    # mode is set at creation, so the secret is never readable by others, and
    # again with fchmod because the umask can only remove bits, not add them.
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(Path(out).resolve().parent)
    return signer


# --- state files ------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    # A rename is durable only once the directory entry is; not every
    # platform lets a directory be opened for that.
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _origin_key(origin: str) -> str:
    # The origin is attacker-chosen text (only known origins reach the disk,
    # but be strict anyway): hex of its SHA-256 is a safe, fixed-length name.
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()


class _StateStore:
    """One JSON file per origin: ``{"origin", "size", "root_hash", ...}``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def path(self, origin: str) -> Path:
        return self.directory / f"{_origin_key(origin)}.json"

    def load(self, origin: str) -> WitnessState | None:
        """The stored state, ``None`` if there is no file; :class:`StateError` if broken."""
        path = self.path(origin)
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StateError(f"cannot read {path}: {exc}") from exc
        try:
            data = json.loads(raw)
            if data.get("origin") != origin:
                raise StateError(f"{path} is for origin {data.get('origin')!r}, not {origin!r}")
            size = data["size"]
            if not isinstance(size, int) or isinstance(size, bool) or size < 0:
                raise StateError(f"{path}: size is not a non-negative integer")
            root = base64.b64decode(data["root_hash"], validate=True)
            if len(root) != 32:
                raise StateError(f"{path}: root hash is not 32 bytes")
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as exc:
            raise StateError(f"{path} is not a valid witness state file: {exc}") from exc
        return WitnessState(size, root)

    def store(self, origin: str, state: WitnessState, checkpoint: bytes, now: int) -> None:
        """Replace the origin's state durably; returns once it is on disk."""
        record = {
            "version": _STATE_VERSION,
            "origin": origin,
            "size": state.size,
            "root_hash": base64.b64encode(state.root_hash).decode("ascii"),
            # The signed checkpoint itself: evidence if the log later forks.
            "checkpoint": checkpoint.decode("utf-8"),
            "cosigned_at": now,
        }
        data = (json.dumps(record, indent=1, sort_keys=True) + "\n").encode("utf-8")
        self._atomic_write(self.path(origin), data)

    def keep_evidence(self, origin: str, size: int, body: bytes) -> Path:
        """Keep a refused but log-signed request; one file per distinct body."""
        evidence = self.directory / "evidence"
        evidence.mkdir(exist_ok=True, mode=0o700)
        digest = hashlib.sha256(body).hexdigest()[:16]
        path = evidence / f"{_origin_key(origin)[:16]}-{size}-{digest}.txt"
        if not path.exists():
            self._atomic_write(path, body)
        return path

    def _atomic_write(self, path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        _fsync_dir(path.parent)


# --- the service ------------------------------------------------------------------


def _peek_origin(body: bytes) -> str | None:
    """The checkpoint origin named in a request body, unverified (to pick a lock)."""
    try:
        request = notes.parse_add_checkpoint(body)
        note = notes.parse_note(request.checkpoint)
        return notes.parse_checkpoint(note.text).origin
    except NoteError:
        return None


def _as_verifier(key: str | Verifier) -> Verifier:
    return key if isinstance(key, Verifier) else notes.parse_verifier_key(key.strip())


class WitnessService:
    """The witness without HTTP: ``add_checkpoint(body) -> (status, content type, body)``.

    ``key`` is the witness's signer (a :class:`Signer` or a ``PRIVATE+KEY+``
    string; 0x01 or 0x04, cosignatures always carry the 0x04 key ID).
    ``state_dir`` is created if missing. ``log_vkeys`` are the verifier keys
    of the logs this witness trusts; a log's origin is its key's name (our
    portal names its key after the checkpoint origin, as tlog-checkpoint
    recommends), and several keys may share one origin (key rotation).
    ``clock`` returns POSIX seconds for the cosignature timestamp.

    Thread-safe: requests for one origin are serialised by a lock held from
    reading the state to writing it (an ``flock`` on a per-origin lock file as
    well, so two processes sharing a state directory cannot race either).
    """

    def __init__(
        self,
        key: Signer | str,
        state_dir: str | os.PathLike[str],
        log_vkeys: Iterable[str | Verifier],
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.signer = key if isinstance(key, Signer) else notes.parse_signer_key(key.strip())
        self.clock = clock
        self.store = _StateStore(Path(state_dir))
        log_keys: dict[str, list[Verifier]] = {}
        for vkey in log_vkeys:
            verifier = _as_verifier(vkey)
            if verifier.sig_type != notes.ED25519:
                # A log signs checkpoints with plain Ed25519 (signed-note 0x01);
                # a 0x04 key here is almost certainly a witness key pasted by mistake.
                raise NoteError(f"log key {verifier.name} is not an Ed25519 (0x01) note key")
            log_keys.setdefault(verifier.name, []).append(verifier)
        if not log_keys:
            raise ValueError("a witness needs at least one log key to trust")
        self.log_keys = {origin: tuple(keys) for origin, keys in log_keys.items()}
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    @property
    def vkey(self) -> str:
        """This witness's cosignature verifier key (type 0x04), to register with the portal."""
        return self.signer.verifier().for_cosignatures().to_vkey()

    @contextlib.contextmanager
    def _origin_lock(self, origin: str) -> Iterator[None]:
        with self._locks_guard:
            lock = self._locks.setdefault(origin, threading.Lock())
        with lock:
            if fcntl is None:  # pragma: no cover
                yield
                return
            lock_path = self.store.directory / f"{_origin_key(origin)}.lock"
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)  # closing releases the flock

    def add_checkpoint(self, body: bytes) -> Response:
        """Answer one ``add-checkpoint`` request body; see :meth:`decide`."""
        decision = self.decide(body)
        return decision.status, decision.content_type, decision.body

    def decide(self, body: bytes) -> WitnessDecision:
        """Decide, persist a 200's new state durably, and return the decision.

        Statuses are those of :func:`decide_add_checkpoint`, plus 500 (text
        body) when the stored state for the origin cannot be read or written.
        """
        origin = _peek_origin(body)
        if origin is None or origin not in self.log_keys:
            # Malformed (400) or unknown origin (404): no state is read, no lock needed.
            return self._decide(body, expected_origin=None)
        try:
            with self._origin_lock(origin):
                decision = self._decide(body, expected_origin=origin)
                if decision.new_state is not None:
                    # SPEC: tlog-witness "The witness MUST persist the new
                    # checkpoint before responding." store() returns after fsync.
                    checkpoint = notes.parse_add_checkpoint(body).checkpoint
                    self.store.store(origin, decision.new_state, checkpoint, int(self.clock()))
        except (StateError, OSError) as exc:
            logger.error("witness state for origin %r: %s", origin, exc)
            return WitnessDecision(
                status=500,
                body=b"witness state unavailable\n",
                content_type=TEXT_CONTENT_TYPE,
                reason=f"state error: {exc}",
                origin=origin,
            )
        if decision.signature_verified and (
            decision.status == UNPROCESSABLE
            or (decision.status == CONFLICT and decision.content_type != SIZE_CONTENT_TYPE)
        ):
            try:
                path = self.store.keep_evidence(origin, decision.checkpoint.size, body)  # type: ignore[union-attr]
                logger.warning("kept evidence of log misbehaviour in %s", path)
            except OSError as exc:  # the answer stands even if the evidence cannot be kept
                logger.error("cannot keep evidence for origin %r: %s", origin, exc)
        return decision

    def _decide(self, body: bytes, *, expected_origin: str | None) -> WitnessDecision:
        def get_state(origin: str) -> WitnessState | None:
            # Only ever called for the origin whose lock we hold; anything else
            # would be a race, so refuse rather than read unlocked.
            if origin != expected_origin:
                raise StateError(f"state for {origin!r} read without its lock")
            return self.store.load(origin)

        return decide_add_checkpoint(
            body,
            log_keys=self.log_keys,
            get_state=get_state,
            cosigner=self.signer,
            now=int(self.clock()),
        )


# --- HTTP ---------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _WitnessHTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive for the portal's client; every answer has a length
    timeout = REQUEST_TIMEOUT_SECONDS
    server_version = "bizi-witness/1"
    sys_version = ""

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    do_HEAD = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _handle(self) -> None:
        started = time.monotonic()
        status, content_type, body, reason, origin = self._route()
        self._send(status, content_type, body)
        logger.info(
            '%s "%s %s" %d origin=%s %s (%.1f ms)',
            self.client_address[0],
            self.command,
            self.path,
            status,
            json.dumps(origin) if origin is not None else "-",
            reason,
            (time.monotonic() - started) * 1000,
        )

    def _route(self) -> tuple[int, str, bytes, str, str | None]:
        path = self.path.split("?", 1)[0]
        if path != ADD_CHECKPOINT_PATH:
            self._discard_body()
            return 404, TEXT_CONTENT_TYPE, b"not found\n", "no such path", None
        if self.command != "POST":
            self._discard_body()
            return 405, TEXT_CONTENT_TYPE, b"method not allowed\n", "not POST", None
        body, error = self._read_body()
        if error is not None:
            self.close_connection = True
            status, reason = error
            return status, TEXT_CONTENT_TYPE, f"{reason}\n".encode(), reason, None
        decision = self.server.service.decide(body)
        return (
            int(decision.status),
            decision.content_type,
            decision.body,
            decision.reason,
            decision.origin,
        )

    def _read_body(self) -> tuple[bytes, tuple[int, str] | None]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return b"", (411, "chunked bodies are not accepted; send Content-Length")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return b"", (411, "Content-Length is required")
        try:
            length = int(length_header)
        except ValueError:
            return b"", (400, "invalid Content-Length")
        if length < 0:
            return b"", (400, "invalid Content-Length")
        if length > MAX_BODY_BYTES:
            self._drain(length)
            return b"", (413, f"request body is larger than {MAX_BODY_BYTES} bytes")
        try:
            body = self.rfile.read(length)
        except TimeoutError:
            return b"", (408, "timed out reading the request body")
        if len(body) != length:
            return b"", (400, "request body is shorter than Content-Length")
        return body, None

    def _discard_body(self) -> None:
        """Read and drop whatever body a request we refuse has; then close."""
        self.close_connection = True
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            return
        self._drain(length)

    def _drain(self, length: int) -> None:
        # Closing a socket with unread data makes the kernel send a reset, and
        # the client may then never see the 413. Read and discard a moderately
        # oversized body first; a huge one is simply cut off.
        if length > MAX_DRAIN_BYTES:
            return
        with contextlib.suppress(OSError):
            while length > 0:
                chunk = self.rfile.read(min(length, 64 * 1024))
                if not chunk:
                    break
                length -= len(chunk)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == 405:
            self.send_header("Allow", "POST")
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass  # _handle logs one line per request, with the witness's reason

    def log_message(self, format: str, *args: object) -> None:
        logger.warning("%s %s", self.client_address[0], format % args)


class _WitnessHTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client must not keep the process alive at shutdown

    def __init__(self, address: tuple[str, int], service: WitnessService) -> None:
        self.service = service
        super().__init__(address, _Handler)


def make_server(
    service: WitnessService, host: str = "127.0.0.1", port: int = 8470
) -> ThreadingHTTPServer:
    """A threading HTTP server bound to ``(host, port)`` (port 0: any free port).

    Call ``serve_forever()`` on it (in a thread for tests), ``shutdown()`` and
    ``server_close()`` to stop; ``server_address[1]`` is the bound port. IPv6
    literals (``::1``) are accepted.
    """
    if ":" in host:

        class _V6(_WitnessHTTPServer):
            address_family = socket.AF_INET6

        return _V6((host, port), service)
    return _WitnessHTTPServer((host, port), service)


def parse_listen(value: str) -> tuple[str, int]:
    """``HOST:PORT`` or ``[V6]:PORT`` to ``(host, port)``; ``ValueError`` if malformed."""
    host, sep, port_text = value.rpartition(":")
    if not sep or not host or not port_text.isdigit():
        raise ValueError(f"expected HOST:PORT, got {value!r}")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    port = int(port_text)
    if not 0 <= port <= 65535:
        raise ValueError(f"port {port} is out of range")
    return host, port


# --- the command line ---------------------------------------------------------------


def _parser() -> ArgumentParser:
    parser = ArgumentParser(
        prog="python -m tools.bizi_witness",
        description="Run a C2SP tlog-witness (serve) or make its key (keygen). Uses no database.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{keygen,serve}")
    keygen = sub.add_parser("keygen", help="Write a new witness signer key and print its vkey.")
    keygen.add_argument(
        "--name",
        required=True,
        help="Key name, e.g. witness.northbank.example/1 (no spaces or '+').",
    )
    keygen.add_argument("--out", required=True, help="Key file to create (refused if it exists).")
    serve = sub.add_parser("serve", help="Serve POST /add-checkpoint over HTTP.")
    serve.add_argument("--key", required=True, help="Signer key file written by keygen.")
    serve.add_argument("--state", required=True, help="Directory for the witness state.")
    serve.add_argument(
        "--log",
        action="append",
        required=True,
        metavar="VKEY",
        help="Verifier key of a log to witness (its name is the log origin). Repeatable.",
    )
    serve.add_argument(
        "--listen",
        default="127.0.0.1:8470",
        help="HOST:PORT to listen on (default 127.0.0.1:8470; [::1]:PORT for IPv6).",
    )
    return parser


class UsageError(Exception):
    """A command that cannot run as given; main() prints it and exits 2."""


def _keygen(name: str, out: str) -> None:
    try:
        signer = generate_key_file(name, out)
    except FileExistsError as exc:
        raise UsageError(f"{out} exists; refusing to overwrite a key") from exc
    except (NoteError, OSError) as exc:
        raise UsageError(str(exc)) from exc
    print(f"Wrote the signer key to {out} (mode 0600). Keep it secret.", file=sys.stderr)
    print("Register this verifier key with the portal:", file=sys.stderr)
    print(signer.verifier().for_cosignatures().to_vkey())


def _serve(key_path: str, state_dir: str, log_vkeys: list[str], listen: str) -> None:
    try:
        host, port = parse_listen(listen)
        mode = os.stat(key_path).st_mode
        service = WitnessService(load_signer_key(key_path), state_dir, log_vkeys)
    except (NoteError, OSError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f"warning: {key_path} is readable by others; chmod 600 it", file=sys.stderr)
    # One line per request on stderr.
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        server = make_server(service, host, port)
    except OSError as exc:
        raise UsageError(f"cannot listen on {listen}: {exc}") from exc
    bound_host, bound_port = server.socket.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in str(bound_host) else bound_host
    print(f"witness {service.vkey}")
    for origin in sorted(service.log_keys):
        print(f"witnessing log {origin}")
    print(f"listening on http://{shown}:{bound_port}/add-checkpoint", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        print("stopping")
    finally:
        server.server_close()


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status (2: usage or setup error)."""
    options = _parser().parse_args(argv)
    try:
        if options.command == "keygen":
            _keygen(options.name, options.out)
        else:
            _serve(options.key, options.state, options.log, options.listen)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
