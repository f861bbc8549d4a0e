"""The reliability experiment of the paper's Table 1, measured on our own code.

The paper (section 4.1) compares the three parts of the "BIZi network" — the blockchain, IPFS
and the Zigzag code — by fault tolerance, storage saving and scalability, but it defines none
of the three and describes no set-up. We run each as a storage scheme over the same N local
node folders, with the portal's own node backends, encryption, erasure code and hashes:

* "Blockchain": full replication, every object on every node. It is the (1, N-1) Zigzag code:
  with one data shard every shift is zero and each parity shard is a plain copy.
* "IPFS": content addressing. The object is cut into 256 KiB blocks as `ipfs add` does
  (`storage.cid`), every block of the DAG (leaves and internal nodes) is stored under its CID
  on the r nodes nearest to it in XOR distance (Kademlia, as IPFS's DHT picks providers), and
  a read fetches each block from any holder and checks it against its CID.
* "Zigzag": the portal's default code, k data + m parity shards per stripe on distinct nodes.

Then, trial after trial (seeded), f nodes fail at once with f uniform on 0..N-1 (their folders
are renamed away, as a lost disk would vanish), every object of every scheme is read back and
compared byte for byte, and the folders return. The three figures and their definitions are in
DEFINITIONS; `manage.py table1` prints them beside the paper's and says why they differ.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.cid import CODEC_DAG_PB, CidBuilder, cid_of_block, cid_of_bytes, cid_to_str
from storage.crypto import TAG_SIZE, new_data_key
from storage.engine import Manifest, ObjectReader, StripeUnreadable, write_object
from storage.nodes import LocalFolder, NodeError

__all__ = ["DEFINITIONS", "PAPER", "SCHEMES", "Settings", "check_settings", "run_experiment"]

SCHEMES = ("blockchain", "ipfs", "zigzag")
METRICS = ("fault_tolerance", "storage_saving", "scalability")

# Table 1 of the paper, in percent.
PAPER = {
    "blockchain": {"fault_tolerance": 87, "storage_saving": 34, "scalability": 56},
    "ipfs": {"fault_tolerance": 52, "storage_saving": 44, "scalability": 79},
    "zigzag": {"fault_tolerance": 36, "storage_saving": 89, "scalability": 45},
}

DEFINITIONS = {
    "fault_tolerance": (
        "share of trials in which every object read back byte-identical after f random nodes "
        "failed at once, f drawn uniformly from 0 to N-1"
    ),
    "storage_saving": (
        "1 - (bytes stored on all nodes) / (N x object bytes): the space saved against keeping "
        "a full copy on every node"
    ),
    "scalability": (
        "bytes written per object byte on N nodes, divided by the same on 2N nodes: 100 % means "
        "a write costs no more as the network grows"
    ),
}

BLOCK_SIZE = 262_144  # kubo's default chunk: IPFS blocks and our stripes are the same size


@dataclass(frozen=True)
class Settings:
    nodes: int = 10
    trials: int = 200
    seed: int = 2021
    objects: int = 8
    max_object_bytes: int = 1 << 20
    replicas: int = 3  # IPFS: copies of each block (a pinning service's usual 3)
    k: int = 4
    m: int = 2
    stripe_bytes: int = BLOCK_SIZE


class _Cluster:
    """N local node folders in a temporary directory, which can fail and come back."""

    def __init__(self, root: Path, n: int) -> None:
        self.roots = [root / f"node-{i:02d}" for i in range(n)]
        self.backends = {}
        for i, path in enumerate(self.roots):
            backend = LocalFolder(path, fsync=False)  # a throwaway experiment, not user data
            backend.create()
            self.backends[i] = backend

    def stored_bytes(self) -> int:
        return sum(p.stat().st_size for root in self.roots for p in root.rglob("*") if p.is_file())

    @contextlib.contextmanager
    def failed(self, which: list[int]) -> Iterator[None]:
        moved = []
        try:
            for i in which:
                away = self.roots[i].with_name(self.roots[i].name + ".failed")
                self.roots[i].rename(away)
                moved.append((away, self.roots[i]))
            yield
        finally:
            for away, back in moved:
                away.rename(back)


class _Erasure:
    """Objects through the portal's engine: the Zigzag code, or (1, N-1) for replication."""

    def __init__(self, cluster: _Cluster, k: int, m: int, stripe_bytes: int, pool: Any) -> None:
        self.cluster = cluster
        self.k = k
        self.m = m
        self.stripe_bytes = stripe_bytes
        self.pool = pool
        self.key = new_data_key()

    def put(self, data: bytes) -> Manifest:
        ids = sorted(self.cluster.backends)
        object_id = uuid.uuid4()
        start = object_id.int % len(ids)

        def placement(stripe: int) -> list[int]:
            at = (start + stripe) % len(ids)
            return ids[at:] + ids[:at]

        return write_object(
            io.BytesIO(data),
            object_id=object_id,
            k=self.k,
            m=self.m,
            stripe_size=self.stripe_bytes,
            data_key=self.key,
            backends=self.cluster.backends,
            placement=placement,
            executor=self.pool,
        )

    def read(self, manifest: Manifest) -> bytes | None:
        reader = ObjectReader(
            manifest, data_key=self.key, backends=self.cluster.backends, executor=self.pool
        )
        try:
            with reader:
                return reader.read()
        except StripeUnreadable:
            return None


@dataclass
class _IpfsObject:
    root: str
    blocks: list[str]  # CIDs of every block of the DAG, internal nodes first
    leaves: list[str]


class _Ipfs:
    """Content-addressed blocks with r replicas, placed by XOR distance to the block's hash."""

    def __init__(self, cluster: _Cluster, replicas: int) -> None:
        self.cluster = cluster
        self.replicas = min(replicas, len(cluster.backends))
        self.node_ids = {
            i: int.from_bytes(hashlib.sha256(f"node-{i}".encode()).digest(), "big")
            for i in cluster.backends
        }

    def _holders(self, cid: str) -> list[int]:
        target = int.from_bytes(hashlib.sha256(cid.encode()).digest(), "big")
        return sorted(self.node_ids, key=lambda i: self.node_ids[i] ^ target)[: self.replicas]

    def _store(self, cid: str, block: bytes) -> None:
        for i in self._holders(cid):
            self.cluster.backends[i].put(f"ipfs/{cid}", block)

    def put(self, data: bytes) -> _IpfsObject:
        nodes: list[tuple[str, bytes]] = []
        builder = CidBuilder(on_node=lambda cid, block: nodes.append((cid_to_str(cid), block)))
        leaves = []
        for start in range(0, max(len(data), 1), BLOCK_SIZE):
            chunk = data[start : start + BLOCK_SIZE]
            builder.update(chunk)
            cid = cid_of_block(chunk)
            leaves.append(cid)
            self._store(cid, chunk)
        root = builder.finalize()
        for cid, block in nodes:
            self._store(cid, block)
        blocks = [cid for cid, _block in nodes] + leaves
        return _IpfsObject(root, blocks, leaves)

    def _fetch(self, cid: str) -> bytes | None:
        for i in self._holders(cid):
            try:
                block = self.cluster.backends[i].get(f"ipfs/{cid}")
            except NodeError:
                continue
            # Content addressing: a block is good if it hashes to its own address.
            if self._verify(cid, block):
                return block
        return None

    @staticmethod
    def _verify(cid: str, block: bytes) -> bool:
        return cid in (cid_of_block(block), cid_of_block(block, codec=CODEC_DAG_PB))

    def read(self, obj: _IpfsObject) -> bytes | None:
        fetched = {}
        for cid in obj.blocks:
            block = self._fetch(cid)
            if block is None:
                return None
            fetched[cid] = block
        data = b"".join(fetched[cid] for cid in obj.leaves)
        return data if cid_of_bytes(data) == obj.root else None


@dataclass
class SchemeResult:
    stored_bytes: int = 0
    stored_bytes_2n: int = 0
    trials_survived: int = 0
    most_failures_survived: int = 0
    fewest_failures_lost: int | None = None
    objects_read: int = 0
    objects_lost: int = 0
    read_seconds: float = 0.0
    measured: dict[str, float] = field(default_factory=dict)


def _schemes(cluster: _Cluster, s: Settings, pool: Any) -> dict[str, Any]:
    n = len(cluster.backends)
    return {
        "blockchain": _Erasure(cluster, 1, n - 1, s.stripe_bytes, pool),
        "ipfs": _Ipfs(cluster, s.replicas),
        "zigzag": _Erasure(cluster, s.k, s.m, s.stripe_bytes, pool),
    }


def _store_all(
    cluster: _Cluster, s: Settings, corpus: list[bytes], pool: Any
) -> tuple[dict[str, Any], dict[str, list[Any]], dict[str, int]]:
    """Put the corpus through each scheme; stored bytes per scheme measured on the folders."""
    schemes = _schemes(cluster, s, pool)
    handles, stored = {}, {}
    for name, scheme in schemes.items():
        before = cluster.stored_bytes()
        handles[name] = [scheme.put(data) for data in corpus]
        stored[name] = cluster.stored_bytes() - before
    return schemes, handles, stored


def check_settings(s: Settings) -> None:
    """ValueError naming what makes `s` impossible to run."""
    if s.nodes < s.k + s.m:
        raise ValueError(f"the Zigzag scheme needs at least k+m = {s.k + s.m} nodes")
    if s.nodes < 2:
        raise ValueError("the experiment needs at least 2 nodes")
    if s.trials < 1 or s.objects < 1 or s.max_object_bytes < 1 or s.replicas < 1:
        raise ValueError("trials, objects, object bytes and replicas must be at least 1")


def run_experiment(s: Settings, *, progress: Any = None) -> dict[str, Any]:
    """Run the experiment and return the report (what `manage.py table1 --json` prints)."""
    check_settings(s)
    rng = random.Random(s.seed)
    corpus = [rng.randbytes(rng.randint(1, s.max_object_bytes)) for _ in range(s.objects)]
    logical = sum(len(d) for d in corpus)
    results = {name: SchemeResult() for name in SCHEMES}
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bizi-table1-") as tmp, ThreadPoolExecutor(2) as pool:
        root = Path(tmp)
        # The same corpus on 2N nodes, only to measure what a write costs as the network grows.
        big = _Cluster(root / "double", 2 * s.nodes)
        _, _, stored_2n = _store_all(big, s, corpus, pool)
        shutil.rmtree(root / "double")
        cluster = _Cluster(root / "cluster", s.nodes)
        schemes, handles, stored = _store_all(cluster, s, corpus, pool)
        for name in SCHEMES:
            results[name].stored_bytes = stored[name]
            results[name].stored_bytes_2n = stored_2n[name]
        for trial in range(s.trials):
            f = rng.randrange(0, s.nodes)
            failed = rng.sample(range(s.nodes), f)
            with cluster.failed(failed):
                for name in SCHEMES:
                    r = results[name]
                    t0 = time.perf_counter()
                    ok = True
                    for data, handle in zip(corpus, handles[name], strict=True):
                        back = schemes[name].read(handle)
                        r.objects_read += 1
                        if back != data:
                            ok = False
                            r.objects_lost += 1
                    r.read_seconds += time.perf_counter() - t0
                    if ok:
                        r.trials_survived += 1
                        r.most_failures_survived = max(r.most_failures_survived, f)
                    elif r.fewest_failures_lost is None or f < r.fewest_failures_lost:
                        r.fewest_failures_lost = f
            if progress is not None:
                progress(trial + 1, s.trials)
    for r in results.values():
        # "+ 0.0" turns a rounded -0.0 (replication stores its tags too) into 0.0.
        r.measured = {
            "fault_tolerance": round(100.0 * r.trials_survived / max(1, s.trials), 1) + 0.0,
            "storage_saving": round(100.0 * (1 - r.stored_bytes / (s.nodes * logical)), 1) + 0.0,
            "scalability": round(100.0 * (r.stored_bytes / r.stored_bytes_2n), 1) + 0.0,
        }
    return _report(s, corpus, results, time.monotonic() - started)


_LABELS = {
    "blockchain": "Blockchain (full replication)",
    "ipfs": "IPFS (content-addressed blocks, r replicas)",
    "zigzag": "Zigzag code (k data + m parity)",
}


def _why(name: str, metric: str, measured: float, s: Settings) -> str:
    """One line on why our figure differs from the paper's."""
    n, r, k, m = s.nodes, min(s.replicas, s.nodes), s.k, s.m
    reasons = {
        ("blockchain", "fault_tolerance"): (
            f"a copy on every node survives any {n - 1} of {n} failures and no trial fails "
            "them all, so nothing is ever lost"
        ),
        ("blockchain", "storage_saving"): (
            "a full copy on every node is the baseline of the definition, so it saves nothing"
        ),
        ("blockchain", "scalability"): (
            f"every write goes to every node, so doubling the network doubles its cost "
            f"({n} copies on {n} nodes, {2 * n} on {2 * n})"
        ),
        ("ipfs", "fault_tolerance"): (
            f"a block is lost once all {r} of its holders fail: any {r - 1} failures are "
            "survived, more only if no block's holders all fail (fewer blocks, better odds)"
        ),
        ("ipfs", "storage_saving"): (
            f"{r} copies of each block cost {r}x the data, against {n}x for a copy per node"
        ),
        ("ipfs", "scalability"): (
            f"a block has {r} copies however many nodes there are, so a write costs the same"
        ),
        ("zigzag", "fault_tolerance"): (
            f"a stripe survives any {m} lost shards of {k + m}; with more failures a stripe "
            "spread over the failed nodes is lost, and with many stripes one always is"
        ),
        ("zigzag", "storage_saving"): (
            f"{k}+{m} shards cost {(k + m) / k:.2f}x the data (plus GCM tags and shift "
            f"padding), against {n}x for a copy per node"
        ),
        ("zigzag", "scalability"): (
            f"a stripe is {k + m} shards however many nodes there are, so a write costs the same"
        ),
    }
    return reasons[(name, metric)]


def _report(
    s: Settings, corpus: list[bytes], results: dict[str, SchemeResult], seconds: float
) -> dict[str, Any]:
    schemes = []
    differences = []
    for name in SCHEMES:
        r = results[name]
        schemes.append(
            {
                "scheme": name,
                "label": _LABELS[name],
                "measured": r.measured,
                "paper": PAPER[name],
                "detail": {
                    "stored_bytes": r.stored_bytes,
                    "stored_bytes_on_2n_nodes": r.stored_bytes_2n,
                    "trials_survived": r.trials_survived,
                    "most_failures_survived": r.most_failures_survived,
                    "fewest_failures_that_lost_data": r.fewest_failures_lost,
                    "objects_read": r.objects_read,
                    "objects_lost": r.objects_lost,
                    "read_seconds": round(r.read_seconds, 3),
                },
            }
        )
        for metric in METRICS:
            measured, paper = r.measured[metric], PAPER[name][metric]
            if abs(measured - paper) >= 5:
                differences.append(
                    {
                        "scheme": name,
                        "metric": metric,
                        "measured": measured,
                        "paper": paper,
                        "why": _why(name, metric, measured, s),
                    }
                )
    return {
        "nodes": s.nodes,
        "trials": s.trials,
        "seed": s.seed,
        "objects": len(corpus),
        "object_bytes": sum(len(d) for d in corpus),
        "parameters": {
            "ipfs_replicas": min(s.replicas, s.nodes),
            "ipfs_block_bytes": BLOCK_SIZE,
            "zigzag_k": s.k,
            "zigzag_m": s.m,
            "stripe_bytes": s.stripe_bytes,
            "stripe_plaintext_bytes": s.stripe_bytes - TAG_SIZE,
            "failures_per_trial": f"uniform on 0..{s.nodes - 1}",
        },
        "definitions": DEFINITIONS,
        "schemes": schemes,
        "differences": differences,
        "paper_note": (
            "The paper defines none of the three measures and gives no set-up, so its figures "
            "cannot be reproduced as such; these are measured under the definitions given."
        ),
        "seconds": round(seconds, 2),
    }
