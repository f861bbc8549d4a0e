"""S3-compatible bucket nodes, against a real local S3 server (moto's, on loopback)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from storage import repair, services
from storage.models import Shard, StorageNode
from storage.tests.helpers import PLAIN, payload, put_bytes, read_back

pytestmark = pytest.mark.django_db

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "bizi-test",
    "AWS_SECRET_ACCESS_KEY": "bizi-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3_endpoint():
    """A moto S3 server on a free loopback port for this module; stopped afterwards."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603 - moto's own server from this virtual environment
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    saved = {k: os.environ.get(k) for k in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the local S3 server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def mixed_nodes(s3_endpoint, tmp_path):
    """Three buckets and five local folders."""
    made = [
        services.node_register(
            name=f"s3-{i}",
            kind=StorageNode.Kind.S3,
            bucket=f"bizi-{os.getpid()}-{time.monotonic_ns()}-{i}",
            endpoint_url=s3_endpoint,
            region="us-east-1",
            prefix="shards",
        )
        for i in range(3)
    ]
    made += [
        services.node_register(name=f"local-{i}", path=str(tmp_path / f"l{i}")) for i in range(5)
    ]
    return made


def _client(node: StorageNode):
    return services.backend_for(node)._client  # type: ignore[attr-defined]


def _objects(node: StorageNode) -> list[str]:
    listing = _client(node).list_objects_v2(Bucket=node.bucket)
    return [item["Key"] for item in listing.get("Contents", [])]


def test_objects_round_trip_over_buckets_and_folders_with_ciphertext_only(mixed_nodes):
    marker = b"HARBOR-MUTUAL-CLAIMS;"
    data = marker * (4 * PLAIN // len(marker))
    obj = put_bytes(data)
    assert read_back(obj.pk) == data
    buckets = [n for n in mixed_nodes if n.kind == StorageNode.Kind.S3]
    stored = 0
    for node in buckets:
        for key in _objects(node):
            assert key.startswith("shards/")
            body = _client(node).get_object(Bucket=node.bucket, Key=key)["Body"].read()
            assert marker not in body
            stored += 1
    assert stored == Shard.objects.filter(stripe__object=obj, node__in=buckets).count() > 0


def test_a_lost_or_corrupted_bucket_object_is_repaired(mixed_nodes):
    data = payload(5 * PLAIN + 1)
    obj = put_bytes(data)
    bucket_shards = list(
        Shard.objects.filter(stripe__object=obj, node__kind=StorageNode.Kind.S3).select_related(
            "node", "stripe"
        )
    )
    gone, bad = bucket_shards[0], bucket_shards[1]
    for shard, action in ((gone, "delete"), (bad, "corrupt")):
        key = f"shards/{obj.pk.hex[:2]}/{obj.pk.hex}/{shard.stripe.index:08d}.{shard.index:02d}"
        client = _client(shard.node)
        if action == "delete":
            client.delete_object(Bucket=shard.node.bucket, Key=key)
        else:
            client.put_object(Bucket=shard.node.bucket, Key=key, Body=b"\0" * shard.length)

    assert read_back(obj.pk) == data
    report = repair.scrub()
    assert report.repaired == 2 and not report.unrecoverable
    assert set(Shard.objects.filter(stripe__object=obj).values_list("status", flat=True)) == {"ok"}
    assert read_back(obj.pk) == data


def test_a_vanished_bucket_marks_its_node_down_and_its_shards_move(mixed_nodes):
    data = payload(3 * PLAIN)
    obj = put_bytes(data)
    node = next(n for n in mixed_nodes if n.kind == StorageNode.Kind.S3 and n.shards.exists())
    client = _client(node)
    for key in _objects(node):
        client.delete_object(Bucket=node.bucket, Key=key)
    client.delete_bucket(Bucket=node.bucket)

    report = repair.scrub()

    assert node.name in report.nodes_down
    node.refresh_from_db()
    assert node.status == StorageNode.Status.DOWN
    assert node.last_error
    assert not node.shards.exists()
    assert read_back(obj.pk) == data
