"""Storage end to end: `object_put` and `object_open` of one large object, MiB/s and peak memory.

Issue 5 asks, in the same run as the codec figures: put and open MiB/s end to end and their
peak RSS for a 1 GiB object (goal: under 256 MiB each), and put at least 1/3 of plain SHA-256
throughput. The size is BENCH_STORAGE_BYTES (default 1 GiB).

Each of put and open runs in a child process of its own with the portal's default storage
settings (k=4, m=2, 10 MiB stripes, AES-256-GCM, fsync on) over 8 local node folders in a
temporary directory (BENCH_STORAGE_DIR, default the system's), against a throwaway SQLite
database. The child reports its own peak RSS: VmHWM from /proc/self/status, the whole process
with Django loaded. (Not the parent's getrusage(RUSAGE_CHILDREN), nor wait4's: a child's
ru_maxrss keeps the parent's resident size from before exec, here up to the codec benchmark's
buffers.) Beside the figures: plain hashlib SHA-256 over bytes in memory, the reference the goal
is stated in.

With BENCH_STORAGE_PROFILE=1 a third child puts the object once more with every stage of the
put wrapped, and prints the CPU time each took (summed over the threads that ran it) and the
wall time of the whole put: where the cycles go, stage by stage. The wrapping costs a little,
so those figures come from their own run, not from the timed one.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
SIZE = int(os.environ.get("BENCH_STORAGE_BYTES", str(1 << 30)))
PROFILE = os.environ.get("BENCH_STORAGE_PROFILE", "") == "1"
PEAK_GOAL_MIB = 256


def _vm_hwm_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # Linux: KiB too


def _child(action: str, argument: str) -> None:
    """Runs in the child process: one put or one open, then a JSON line on stdout."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from storage import services

    # Registering the node folders is a deployment's one-time setup (`make run` does it before
    # anything is stored), not part of a put: done before the clock starts. It took ~0.2 s.
    services.nodes_ensure_defaults()
    if action == "profile":
        result = _profiled_put(argument)
    elif action == "put":
        started = time.perf_counter()
        with open(argument, "rb") as f:
            obj = services.object_put(f)
        seconds = time.perf_counter() - started
        result = {"seconds": seconds, "id": str(obj.pk), "cid": obj.cid, "size": obj.size}
        result["stored_size"] = obj.stored_size
    else:
        buffer = bytearray(MIB)
        total = 0
        started = time.perf_counter()
        with services.object_open(argument) as reader:
            while n := reader.readinto(buffer):
                total += n
        seconds = time.perf_counter() - started
        result = {"seconds": seconds, "size": total}
    result["vm_hwm_kib"] = _vm_hwm_kib()
    print(json.dumps(result), flush=True)


def _profiled_put(path: str) -> dict:
    """One put with each stage timed in CPU seconds of the threads that ran it (see the doc)."""
    import threading

    from storage import engine, nodes, services
    from storage.models import Shard, StoredObject, Stripe

    spent: dict[str, float] = {}
    lock = threading.Lock()

    def add(stage: str, started: float) -> None:
        with lock:
            spent[stage] = spent.get(stage, 0.0) + time.thread_time() - started

    def timed(owner: object, name: str, stage: str) -> None:
        real = getattr(owner, name)

        def wrapper(*args: object, **kwargs: object) -> object:
            started = time.thread_time()
            try:
                return real(*args, **kwargs)
            finally:
                add(stage, started)

        setattr(owner, name, wrapper)

    class _Hashlib:  # the engine's shard hashes, told apart from the CID's
        sha256 = staticmethod(hashlib.sha256)

    timed(_Hashlib, "sha256", "shard sha256")
    engine.hashlib = _Hashlib  # type: ignore[assignment]
    timed(engine.CidBuilder, "update", "CID sha256 (plaintext)")
    timed(engine, "seal_stripe", "AES-256-GCM seal")
    timed(engine.ZigzagCode, "encode_stripe", "zigzag encode")
    # At the os level, so that the same wrappers time any version of storage.nodes.
    timed(nodes.os, "write", "shard file writes")
    timed(nodes.os, "open", "shard file create + rename")
    timed(nodes.os, "replace", "shard file create + rename")
    timed(nodes.os, "fsync", "fsync (files, folders)")
    timed(StoredObject.objects, "create", "database rows")
    timed(Stripe.objects, "bulk_create", "database rows")
    timed(Shard.objects, "bulk_create", "database rows")

    class _File(io.FileIO):
        def readinto(self, buffer: Any) -> int | None:
            started = time.thread_time()
            try:
                return super().readinto(buffer)
            finally:
                add("read the input", started)

    cpu = os.times()
    started = time.perf_counter()
    with _File(path, "rb") as f:
        services.object_put(f)
    seconds = time.perf_counter() - started
    after = os.times()
    whole = after.user + after.system - cpu.user - cpu.system
    spent["everything else (threads, faults, Python)"] = whole - sum(spent.values())
    spent["whole put, all threads"] = whole
    return {"seconds": seconds, "stages": spent}


def _run_child(env: dict[str, str], *args: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "bench.storage_io", "--child", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=3600,
    )
    if out.returncode != 0:
        raise RuntimeError(f"storage_io child {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _write_data(path: Path, size: int) -> str:
    """Random bytes to `path`; returns their CID, computed while writing."""
    import numpy as np

    sys.path.insert(0, str(ROOT))
    from storage.cid import CidBuilder

    rng = np.random.default_rng(20261125)
    builder = CidBuilder()
    with open(path, "wb") as f:
        left = size
        while left:
            piece = rng.bytes(min(16 * MIB, left))
            builder.update(piece)
            f.write(piece)
            left -= len(piece)
    return builder.finalize()


def _sha256_mib_s() -> float:
    data = os.urandom(256 * MIB)
    runs = []
    for _ in range(3):
        started = time.perf_counter()
        hashlib.sha256(data).digest()
        runs.append(time.perf_counter() - started)
    return 256 / statistics.median(runs)


def run() -> list[str]:
    base = os.environ.get("BENCH_STORAGE_DIR") or None
    tmp = Path(tempfile.mkdtemp(prefix="bizi-bench-storage-", dir=base))
    try:
        var = tmp / "var"
        var.mkdir()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "bench.settings",
            "BIZI_VAR_DIR": str(var),
            "DATABASE_URL": f"sqlite:///{var / 'bench.sqlite3'}",
            "STORAGE_NODE_ROOT": str(tmp / "nodes"),
            "STORAGE_MASTER_KEY": os.urandom(32).hex(),
        }
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "-v0", "--skip-checks"],
            cwd=ROOT,
            env=env,
            check=True,
        )
        data = tmp / "object.bin"
        cid = _write_data(data, SIZE)
        put = _run_child(env, "put", str(data))
        profile = _run_child(env, "profile", str(data)) if PROFILE else None
        data.unlink()  # the object lives on the nodes now; free the page cache it held
        opened = _run_child(env, "open", put["id"])
        sha = _sha256_mib_s()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if put["cid"] != cid or opened["size"] != SIZE:
        raise AssertionError("the object did not come back as it was stored")
    mib = SIZE / MIB
    put_rate, open_rate = mib / put["seconds"], mib / opened["seconds"]
    label = f"size={mib:.0f}MiB k=4 m=2 stripe=10MiB"
    put_peak = put["vm_hwm_kib"] / 1024
    open_peak = opened["vm_hwm_kib"] / 1024
    overhead = put["stored_size"] / SIZE
    lines = [
        f"storage.io.put {label} : {put_rate:.1f} MiB/s (hashlib sha256 {sha:.1f} MiB/s, "
        f"ratio {put_rate / sha:.2f}, goal >= 0.33)",
        f"storage.io.put {label} peak RSS : {put_peak:.1f} MiB (goal < {PEAK_GOAL_MIB} MiB)",
        f"storage.io.open {label} : {open_rate:.1f} MiB/s (hashlib sha256 {sha:.1f} MiB/s, "
        f"ratio {open_rate / sha:.2f})",
        f"storage.io.open {label} peak RSS : {open_peak:.1f} MiB (goal < {PEAK_GOAL_MIB} MiB)",
        f"storage.io.put {label} stored : {overhead:.4f} bytes per byte (MDS ideal 1.5000)",
    ]
    if profile is not None:
        lines += _profile_lines(label, profile, mib)
    return lines


def _profile_lines(label: str, profile: dict, mib: float) -> list[str]:
    wall = profile["seconds"]
    lines = [f"storage.io.put.profile {label} wall : {wall * 1000:.0f} ms ({mib / wall:.1f} MiB/s)"]
    for stage, seconds in sorted(profile["stages"].items(), key=lambda kv: -kv[1]):
        lines.append(
            f"storage.io.put.profile {label} {stage} : {seconds * 1000:.0f} ms CPU "
            f"({mib / seconds if seconds else float('inf'):.0f} MiB/s of plaintext)"
        )
    return lines


def main() -> None:
    """Print one line per figure, with its unit."""
    for line in run():
        print(line, flush=True)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        main()
