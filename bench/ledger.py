"""Ledger benchmark: sealing throughput, proof latency and reads per proof, verification time.

Runs on SQLite in a temporary folder, and also on PostgreSQL when DATABASE_URL points at one
(a scratch database `bizi_bench_ledger` is created there and dropped afterwards).
Sizes: BENCH_LEDGER_SEAL (default 100000 events) and BENCH_LEDGER_SIZES (default
"10000,100000,1000000" entries for the proof figures).
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.scratch import engines, scratch_database

ROOT = Path(__file__).resolve().parent.parent
SEAL_EVENTS = int(os.environ.get("BENCH_LEDGER_SEAL", "100000"))
SIZES = [int(s) for s in os.environ.get("BENCH_LEDGER_SIZES", "10000,100000,1000000").split(",")]
SAMPLES = 300


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _fill_outbox(count: int, start: int) -> float:
    """Record `count` events the way services do (record_event in transactions of 1,000)."""
    from django.db import transaction

    from ledger.services import record_event

    began = time.perf_counter()
    done = 0
    while done < count:
        n = min(1000, count - done)
        with transaction.atomic():
            for i in range(start + done, start + done + n):
                record_event(
                    "data.downloaded",
                    None,
                    {"dataset": f"ds-{i % 97}", "grant": i, "sha256": f"{i:064x}"},
                )
        done += n
    return time.perf_counter() - began


def _grow_to(size: int) -> None:
    from ledger.selectors import log_size
    from ledger.services import append_all

    current = log_size()
    while current < size:
        step = min(100_000, size - current)
        _fill_outbox(step, current)
        append_all()
        current += step


def _proof_figures(size: int, engine: str) -> None:
    from django.db import connection, reset_queries
    from django.test.utils import CaptureQueriesContext

    from ledger.selectors import consistency_proof, inclusion_proof

    rng = random.Random(size)
    inclusion, consistency, reads, queries = [], [], [], []
    for _ in range(SAMPLES):
        index = rng.randrange(size)
        began = time.perf_counter()
        proof = inclusion_proof(index=index, tree_size=size)
        inclusion.append((time.perf_counter() - began) * 1000)
        reads.append(proof.nodes_read)
        first = rng.randrange(1, size)
        began = time.perf_counter()
        consistency_proof(first=first, second=size)
        consistency.append((time.perf_counter() - began) * 1000)
    with CaptureQueriesContext(connection) as captured:
        inclusion_proof(index=size // 3, tree_size=size)
    queries.append(len(captured))
    reset_queries()
    print(
        f"ledger.proof.inclusion ({engine}) n={size}: p50 {statistics.median(inclusion):.2f} ms, "
        f"p99 {_percentile(inclusion, 0.99):.2f} ms (goal < 5 ms at 10^6 on SQLite)"
    )
    print(
        f"ledger.proof.consistency ({engine}) n={size}: "
        f"p50 {statistics.median(consistency):.2f} ms, p99 {_percentile(consistency, 0.99):.2f} ms"
    )
    print(
        f"ledger.proof.reads ({engine}) n={size}: {max(reads)} tree nodes read at most "
        f"(2·log2 n = {2 * size.bit_length()}), {queries[0]} queries per proof "
        "(the log's size, then every node in one lookup)"
    )


def _tile_figures(size: int, engine: str) -> None:
    """C2SP tlog-tiles as a client fetches them, through the whole Django stack in-process,
    beside the inclusion-proof endpoint served the same way; then a full static export."""
    from django.test import Client

    from consortium.models import ConsortiumRole
    from ledger import tiles
    from ledger.services import seal_block_if_due
    from ledger.tile_export import export_tiles
    from portal.tests.factories import ConsortiumRoleFactory, UserFactory

    seal_block_if_due(force=True)
    auditor = UserFactory(username=f"bench-auditor-{size}")
    ConsortiumRoleFactory(user=auditor, role=ConsortiumRole.Role.AUDITOR)
    client = Client()
    client.force_login(auditor)
    rng = random.Random(size)
    full = size // tiles.TILE_WIDTH

    def rate(paths: list[str]) -> float:
        began = time.perf_counter()
        for path in paths:
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        return len(paths) / (time.perf_counter() - began)

    hashes = [
        f"/api/v1/ledger/tlog/{tiles.TileRef(0, rng.randrange(full)).path}" for _ in range(SAMPLES)
    ]
    bundles = [
        f"/api/v1/ledger/tlog/{tiles.TileRef(None, rng.randrange(full)).path}"
        for _ in range(SAMPLES)
    ]
    proofs = [
        f"/api/v1/ledger/proofs/inclusion/?index={rng.randrange(size)}&tree_size={size}"
        for _ in range(SAMPLES)
    ]
    proof_rate = rate(proofs)
    tile_rate, bundle_rate = rate(hashes), rate(bundles)
    print(
        f"ledger.tiles.hash ({engine}) n={size}: {tile_rate:.0f} full level-0 tiles/s served "
        f"(8 KiB each; inclusion-proof endpoint {proof_rate:.0f}/s, "
        f"ratio {tile_rate / proof_rate:.2f})"
    )
    print(
        f"ledger.tiles.entries ({engine}) n={size}: {bundle_rate:.0f} full entry bundles/s served "
        f"(256 entries each; ratio {bundle_rate / proof_rate:.2f} of the proof endpoint)"
    )
    target = Path(tempfile.mkdtemp(prefix="bizi-bench-tiles-"))
    try:
        began = time.perf_counter()
        summary = export_tiles(target)
        seconds = time.perf_counter() - began
    finally:
        shutil.rmtree(target, ignore_errors=True)
    print(
        f"ledger.tiles.export ({engine}) n={summary.tree_size}: {seconds:.1f} s "
        f"({summary.tiles} tiles, {summary.bundles} bundles, {summary.bytes / 2**20:.0f} MiB; "
        f"{summary.tree_size / seconds:.0f} entries/s)"
    )


def _run(engine: str) -> None:
    from ledger.models import Block
    from ledger.selectors import log_size
    from ledger.services import append_all
    from ledger.verification import verify_ledger

    recorded = _fill_outbox(SEAL_EVENTS, 0)
    began = time.perf_counter()
    append_all()
    sealed = time.perf_counter() - began
    print(
        f"ledger.record ({engine}): {SEAL_EVENTS / recorded:.0f} events/s recorded into the outbox"
    )
    print(
        f"ledger.seal ({engine}): {SEAL_EVENTS / sealed:.0f} entries/s appended and sealed "
        f"({SEAL_EVENTS} events, {Block.objects.count()} blocks; goal >= 5000)"
    )
    result = verify_ledger(record=False)
    assert result.ok, result.first_problem
    print(
        f"ledger.verify ({engine}): {result.seconds / log_size() * 100_000:.2f} s per 10^5 entries "
        f"({log_size()} entries, {result.blocks_checked} blocks)"
    )
    for size in SIZES:
        if engine == "postgresql" and size > 100_000:
            continue  # 10^6 is the SQLite goal; PostgreSQL shows the shape at two sizes
        _grow_to(size)
        _proof_figures(size, engine)
    _tile_figures(log_size(), engine)


def _child(engine: str) -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    _run(engine)


def main() -> None:
    for engine, url in engines("bizi_bench_ledger"):
        var_dir = Path(tempfile.mkdtemp(prefix="bizi-bench-ledger-"))
        env = dict(os.environ, BIZI_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="bench.settings")
        env.pop("DATABASE_URL", None)
        if url:
            env["DATABASE_URL"] = url
        # Each engine in a child process, so settings (and the database) are its own.
        try:
            with scratch_database(url):
                subprocess.run(
                    [sys.executable, "-c", f"from bench.ledger import _child; _child({engine!r})"],
                    cwd=ROOT,
                    env=env,
                    check=True,
                )
        finally:
            shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
