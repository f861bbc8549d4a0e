"""Storage node backends: where shard bytes live. No Django; built from `StorageNode` rows.

A backend stores opaque blobs under keys (`<object>/<stripe>.<shard>`) and knows nothing of
objects, codes or keys: it only ever receives ciphertext shards. Two kinds:

* `LocalFolder`: files under a root folder. The root is created when the node is registered
  and never re-created by a write: a folder that has vanished (a lost disk, an unmounted
  volume) makes the node unavailable instead of silently filling an empty directory.
* `S3Bucket`: an S3-compatible bucket through boto3. Credentials come from boto3's usual chain
  (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment, a profile, an instance role),
  never from the database.

Durability is two steps: `put` stores a shard and `sync(keys)` makes the shards put so far
durable, so a caller storing many shards pays the flushes once at the end rather than per shard
(a put is acknowledged only after its `sync`). Every caller calls `sync` before recording a
shard as stored.

Errors: `ShardMissing` when the key is not there, `NodeUnavailable` when the node cannot be
reached at all. Backends are safe to share between threads.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import functools
import mmap
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

__all__ = [
    "LocalFolder",
    "NodeBackend",
    "NodeError",
    "NodeUnavailable",
    "S3Bucket",
    "ShardMissing",
    "StoredKey",
    "parse_shard_key",
    "shard_key",
]

MARKER = ".bizi-node"  # written into a local node's root when it is registered


class NodeError(Exception):
    """Base class of node errors."""


class ShardMissing(NodeError):
    """The node is reachable but does not hold the key."""


class NodeUnavailable(NodeError):
    """The node cannot be reached or has lost its storage."""


@dataclass(frozen=True, slots=True)
class StoredKey:
    key: str
    modified: float  # seconds since the epoch


def shard_key(object_id: uuid.UUID, stripe: int, shard: int) -> str:
    # Two hex digits first spread objects over 256 folders (or S3 prefixes).
    hex_id = object_id.hex
    return f"{hex_id[:2]}/{hex_id}/{stripe:08d}.{shard:02d}"


def parse_shard_key(key: str) -> tuple[uuid.UUID, int, int] | None:
    """(object id, stripe, shard) of a key `shard_key` made; None for anything else."""
    parts = key.split("/")
    if len(parts) != 3 or "." not in parts[2]:
        return None
    stripe, _, shard = parts[2].partition(".")
    try:
        return uuid.UUID(hex=parts[1]), int(stripe), int(shard)
    except ValueError:
        return None


class NodeBackend(Protocol):
    label: str

    def put(self, key: str, data: bytes | bytearray | memoryview) -> None:
        """Store `data` under `key`; durable only once `sync` has been called for the key."""

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def check(self) -> None: ...

    def listing(self) -> Iterator[StoredKey]: ...

    def sync(self, keys: list[str]) -> None:
        """Make the shards stored under `keys` durable (they survive a crash or power loss)."""


class LocalFolder:
    """Shards as files under `root`. With `fsync`, `sync(keys)` puts them on the disk.

    With `fsync`, shards are also written with O_DIRECT where the filesystem allows it: they
    must reach the disk before the put is acknowledged anyway, and going around the page cache
    keeps the write from costing a page allocation per 4 KiB (on virtual machines a first-touch
    fault each, which measured slower than the disk) and from evicting other data. The writes
    then proceed at the disk's speed while the caller computes, and `sync` only has to flush
    metadata and the drive's cache.
    """

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.label = str(self.root)
        self._made: set[str] = set()
        self._lock = threading.Lock()
        self._direct = fsync and hasattr(os, "O_DIRECT")  # False once the filesystem refuses it

    def create(self) -> None:
        """Make the root folder and its marker (registration only)."""
        self.root.mkdir(parents=True, exist_ok=True)
        (self.root / MARKER).touch()

    def check(self) -> None:
        if not (self.root / MARKER).is_file():
            raise NodeUnavailable(f"node folder {self.root} is missing or was never registered")
        if not os.access(self.root, os.W_OK):
            raise NodeUnavailable(f"node folder {self.root} is not writable")

    def _path(self, key: str) -> Path:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"bad key {key!r}")
        return self.root / key

    def _ensure_folder(self, path: Path) -> None:
        folder = str(path.parent)
        if folder in self._made:
            return
        # The root must exist already: mkdir below it, never of it (see the module doc).
        if not self.root.is_dir():
            raise NodeUnavailable(f"node folder {self.root} is missing")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise NodeUnavailable(f"cannot write to {self.root}: {exc}") from exc
        with self._lock:
            self._made.add(folder)

    def _create(self, tmp: Path) -> tuple[int, bool]:
        """A new file's descriptor, and whether it is open with O_DIRECT."""
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        if self._direct:
            try:
                return os.open(tmp, flags | os.O_DIRECT, 0o600), True
            except OSError as exc:
                if exc.errno != errno.EINVAL:  # EINVAL: this filesystem has no direct I/O
                    raise
                self._direct = False
                with contextlib.suppress(OSError):
                    tmp.unlink()
        return os.open(tmp, flags, 0o600), False

    def _open_new(self, path: Path, tmp: Path) -> tuple[int, bool]:
        try:
            return self._create(tmp)
        except FileNotFoundError:
            with self._lock:
                self._made.discard(str(path.parent))  # the folder went away since: once more
            if not self.root.is_dir():
                raise NodeUnavailable(f"node folder {self.root} is missing") from None
        except OSError as exc:
            raise NodeUnavailable(f"cannot write to {self.root}: {exc}") from exc
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return self._create(tmp)
        except OSError as exc:
            raise NodeUnavailable(f"cannot write to {self.root}: {exc}") from exc

    def put(self, key: str, data: bytes | bytearray | memoryview) -> None:
        path = self._path(key)
        self._ensure_folder(path)
        # Written beside its final name and renamed into place, so a reader (or a crash) never
        # sees half a shard under the real name.
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        fd, direct = self._open_new(path, tmp)
        try:
            try:
                view = memoryview(data).cast("B")
                if direct:
                    _write_direct(fd, view)
                else:
                    _write_all(fd, view)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise NodeUnavailable(f"cannot write {key} to {self.root}: {exc}") from exc

    def sync(self, keys: list[str]) -> None:
        """Make `keys` durable: fsync each file's data, then each folder (the renames), once.

        Deferred to here from `put` because one journal commit then covers many files: after
        direct writes, fsyncing a whole object's shards measured ~0.2 ms per file, against ~1 ms
        per file when each put fsyncs its own.
        """
        if not self.fsync:
            return
        paths = [self._path(k) for k in keys]
        for path in paths:
            _fsync_path(path, os.O_RDONLY)
        for folder in sorted({str(p.parent) for p in paths}):
            _fsync_path(Path(folder), os.O_RDONLY | os.O_DIRECTORY)

    def get(self, key: str) -> bytes:
        try:
            with open(self._path(key), "rb") as f:
                return f.read()
        except FileNotFoundError:
            self.check()
            raise ShardMissing(f"{key} is not on {self.root}") from None
        except OSError as exc:
            raise NodeUnavailable(f"cannot read {key} from {self.root}: {exc}") from exc

    def delete(self, key: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._path(key).unlink()

    def listing(self) -> Iterator[StoredKey]:
        for dirpath, _dirs, files in os.walk(self.root):
            for name in files:
                if name == MARKER or name.endswith(".tmp"):
                    continue
                path = Path(dirpath) / name
                try:
                    modified = path.stat().st_mtime
                except FileNotFoundError:
                    continue
                yield StoredKey(path.relative_to(self.root).as_posix(), modified)


def _fsync_path(path: Path, flags: int) -> None:
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise NodeUnavailable(f"{path} vanished before it was synced") from None
    except OSError as exc:
        raise NodeUnavailable(f"cannot sync {path}: {exc}") from exc
    try:
        os.fsync(fd)
    except OSError as exc:
        raise NodeUnavailable(f"cannot sync {path}: {exc}") from exc
    finally:
        os.close(fd)


# O_DIRECT wants the buffer's address, the length and the file offset aligned to the device's
# logical block size; 4 KiB covers every common one.
_ALIGN = 4096
_BOUNCE_SIZE = 1 << 20
_bounce = threading.local()


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        try:
            view = view[os.write(fd, view) :]
        except OSError as exc:
            if exc.errno != errno.EINVAL or not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT:
                raise
            # A direct write the device refused after all (a short write left the offset
            # unaligned, or a stricter block size): finish through the page cache; the
            # `sync` flushes it like the rest.
            fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_DIRECT)


def _address(view: memoryview) -> int:
    return int(np.frombuffer(view, np.uint8).ctypes.data) if len(view) else 0


def _bounce_buffer() -> memoryview:
    """This thread's page-aligned scratch buffer (anonymous mmap memory is page-aligned)."""
    buffer = getattr(_bounce, "view", None)
    if buffer is None:
        buffer = _bounce.view = memoryview(mmap.mmap(-1, _BOUNCE_SIZE))
    return buffer


def _write_direct(fd: int, view: memoryview) -> None:
    """Write `view` to a file opened with O_DIRECT.

    The aligned part goes straight from the caller's memory (the engine hands page-aligned
    shards); the rest, or all of an unaligned buffer, is copied through a page-aligned bounce
    buffer, its last block zero-padded and the file then cut back to the true length.
    """
    n = len(view)
    body = n - n % _ALIGN if _address(view) % _ALIGN == 0 else 0
    _write_all(fd, view[:body])
    rest = view[body:]
    if not rest:
        return
    bounce = _bounce_buffer()
    for start in range(0, len(rest), len(bounce)):
        piece = rest[start : start + len(bounce)]
        padded = -(-len(piece) // _ALIGN) * _ALIGN
        bounce[: len(piece)] = piece
        bounce[len(piece) : padded] = bytes(padded - len(piece))
        _write_all(fd, bounce[:padded])
    if n % _ALIGN:
        os.ftruncate(fd, n)


# boto3 clients are thread-safe and slow to build (~100 ms): one per endpoint per process.
@functools.cache
def _s3_client(endpoint_url: str, region: str) -> Any:
    # Imported on first use: boto3 takes about half a second to import, and only S3 nodes need it.
    import boto3
    from botocore.config import Config

    return boto3.session.Session().client(
        "s3",
        endpoint_url=endpoint_url or None,
        region_name=region or None,
        config=Config(
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=5,
            read_timeout=60,
            max_pool_connections=16,
        ),
    )


class S3Bucket:
    """Shards as objects in an S3-compatible bucket, under an optional key prefix."""

    def __init__(self, *, bucket: str, endpoint_url: str = "", region: str = "", prefix: str = ""):
        self.bucket = bucket
        self.endpoint_url = endpoint_url
        self.region = region
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.label = f"s3://{bucket}/{self.prefix}" + (
            f" at {endpoint_url}" if endpoint_url else ""
        )

    @property
    def _client(self) -> Any:
        return _s3_client(self.endpoint_url, self.region)

    def _errors(self, exc: Exception, key: str | None = None) -> NodeError:
        from botocore.exceptions import ClientError  # on first use, as in _s3_client

        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in {"NoSuchKey", "404", "NotFound"} and key is not None:
                return ShardMissing(f"{key} is not in {self.label}")
            return NodeUnavailable(f"{self.label}: {code or exc}")
        return NodeUnavailable(f"{self.label}: {exc}")

    def create(self) -> None:
        """Create the bucket if it does not exist (registration only)."""
        from botocore.exceptions import ClientError  # on first use, as in _s3_client

        try:
            self._client.head_bucket(Bucket=self.bucket)
        except ClientError:
            self._client.create_bucket(Bucket=self.bucket)

    def check(self) -> None:
        try:
            self._client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            raise self._errors(exc) from exc

    def put(self, key: str, data: bytes | bytearray | memoryview) -> None:
        try:
            self._client.put_object(Bucket=self.bucket, Key=self.prefix + key, Body=bytes(data))
        except Exception as exc:
            raise self._errors(exc) from exc

    def sync(self, keys: list[str]) -> None:
        """Nothing to do: S3 acknowledges a put only once it is durable."""

    def get(self, key: str) -> bytes:
        try:
            response = self._client.get_object(Bucket=self.bucket, Key=self.prefix + key)
            body: bytes = response["Body"].read()
            return body
        except Exception as exc:
            raise self._errors(exc, key) from exc

    def delete(self, key: str) -> None:
        try:
            self._client.delete_object(Bucket=self.bucket, Key=self.prefix + key)
        except Exception as exc:
            raise self._errors(exc, key) from exc

    def listing(self) -> Iterator[StoredKey]:
        try:
            pages = self._client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"][len(self.prefix) :]
                    yield StoredKey(key, item["LastModified"].timestamp())
        except NodeError:
            raise
        except Exception as exc:
            raise self._errors(exc) from exc
