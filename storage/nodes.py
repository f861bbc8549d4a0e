"""Storage node backends: where shard bytes live. No Django; built from `StorageNode` rows.

A backend stores opaque blobs under keys (`<object>/<stripe>.<shard>`) and knows nothing of
objects, codes or keys: it only ever receives ciphertext shards. Two kinds:

* `LocalFolder`: files under a root folder. The root is created when the node is registered
  and never re-created by a write: a folder that has vanished (a lost disk, an unmounted
  volume) makes the node unavailable instead of silently filling an empty directory.
* `S3Bucket`: an S3-compatible bucket through boto3. Credentials come from boto3's usual chain
  (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY in the environment, a profile, an instance role),
  never from the database.

Errors: `ShardMissing` when the key is not there, `NodeUnavailable` when the node cannot be
reached at all. Backends are safe to share between threads.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

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

    def put(self, key: str, data: bytes | bytearray | memoryview) -> None: ...

    def get(self, key: str) -> bytes: ...

    def delete(self, key: str) -> None: ...

    def check(self) -> None: ...

    def listing(self) -> Iterator[StoredKey]: ...

    def sync(self, keys: list[str]) -> None: ...


class LocalFolder:
    """Shards as files under `root`. With `fsync`, a put is on disk before it returns."""

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        self.label = str(self.root)
        self._made: set[str] = set()
        self._lock = threading.Lock()

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

    def put(self, key: str, data: bytes | bytearray | memoryview) -> None:
        path = self._path(key)
        folder = str(path.parent)
        if folder not in self._made:
            # The root must exist already: mkdir below it, never of it (see the module doc).
            if not self.root.is_dir():
                raise NodeUnavailable(f"node folder {self.root} is missing")
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise NodeUnavailable(f"cannot write to {self.root}: {exc}") from exc
            with self._lock:
                self._made.add(folder)
        # Written beside its final name and renamed into place, so a reader (or a crash) never
        # sees half a shard under the real name.
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileNotFoundError:
            with self._lock:
                self._made.discard(folder)  # the folder went away since: try once more
            if not self.root.is_dir():
                raise NodeUnavailable(f"node folder {self.root} is missing") from None
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as exc:
            raise NodeUnavailable(f"cannot write to {self.root}: {exc}") from exc
        try:
            try:
                view = memoryview(data).cast("B")
                while view:
                    view = view[os.write(fd, view) :]
                if self.fsync:
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise NodeUnavailable(f"cannot write {key} to {self.root}: {exc}") from exc

    def sync(self, keys: list[str]) -> None:
        """Make the renames of `keys` durable: fsync each folder they are in, once."""
        if not self.fsync:
            return
        for folder in sorted({str(self._path(k).parent) for k in keys}):
            try:
                fd = os.open(folder, os.O_RDONLY)
            except OSError as exc:
                raise NodeUnavailable(f"cannot sync {folder}: {exc}") from exc
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

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


# boto3 clients are thread-safe and slow to build (~100 ms): one per endpoint per process.
@functools.cache
def _s3_client(endpoint_url: str, region: str) -> Any:
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
        from botocore.exceptions import ClientError

        if isinstance(exc, ClientError):
            code = str(exc.response.get("Error", {}).get("Code", ""))
            if code in {"NoSuchKey", "404", "NotFound"} and key is not None:
                return ShardMissing(f"{key} is not in {self.label}")
            return NodeUnavailable(f"{self.label}: {code or exc}")
        return NodeUnavailable(f"{self.label}: {exc}")

    def create(self) -> None:
        """Create the bucket if it does not exist (registration only)."""
        from botocore.exceptions import ClientError

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
            return response["Body"].read()
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
