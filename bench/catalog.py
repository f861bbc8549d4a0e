"""Catalog benchmark: publishing speed and memory, and the catalog's latency at 100,000 listings.

- publish: a generated loans CSV of BENCH_PUBLISH_SIZES MiB (default "100,1024") goes through
  the real path (check + store + listing) in a child process; beside it, the raw storage put of
  the same file in another child (the ratio), each with its peak RSS.
- catalog: BENCH_CATALOG_LISTINGS listings (default 100000) in the database, then p50/p99 of
  the catalog page and the list endpoint (plain, a text search, a facet filter) as people see
  them (facet counts reused), and once more with the facet counts recomputed for every request
  (what the first visitor after each change to the catalog waits for). Beside each figure:
  the same request over BENCH_CATALOG_BASELINE listings (default 1000) measured a minute
  before, and the ratio, which shows the catalog's size apart from the machine's load.
BENCH_CATALOG_PARTS (default "check,publish,listings") picks the parts to run.
SQLite in a temporary folder; PostgreSQL too when DATABASE_URL points at one (a scratch database
named after the configured one, `<name>_bench_catalog`, so benches of several checkouts sharing
one server do not clash). Every line names its engine.
"""

from __future__ import annotations

import gc
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.scratch import engines, scratch_database

ROOT = Path(__file__).resolve().parent.parent
SIZES_MIB = [int(s) for s in os.environ.get("BENCH_PUBLISH_SIZES", "100,1024").split(",") if s]
LISTINGS = int(os.environ.get("BENCH_CATALOG_LISTINGS", "100000"))
# The same requests over a small catalog first, for the ratio (see child_catalog).
BASELINE = int(os.environ.get("BENCH_CATALOG_BASELINE", "1000"))
PARTS = set(os.environ.get("BENCH_CATALOG_PARTS", "check,publish,listings").split(","))
SAMPLES = 100  # p99 of 100 requests is the second slowest, not the single slowest
ENGINE_NAMES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
MiB = 1024 * 1024


def _make_csv(path: Path, mib: int) -> None:
    from catalog.synthetic import loans

    chunk = loans(random.Random(1), 20_000)
    header, body = chunk.split(b"\n", 1)
    with path.open("wb") as out:
        out.write(header + b"\n")
        while out.tell() < mib * MiB:
            out.write(body)


def _cpu_seconds() -> float:
    """CPU time of this process, all threads: unlike the wall time, it does not grow when
    other work on the machine takes the cores."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def queue_upload(user, path: Path, title: str):  # type: ignore[no-untyped-def]
    """A checked-nothing-yet upload of the file at `path`, as the publish page leaves it for the
    worker (needs Django set up); `upload_process` then checks and stores it."""
    from catalog import services
    from catalog.models import DatasetUpload

    size = path.stat().st_size
    upload = DatasetUpload.objects.create(
        institution_id=user.membership.institution_id,
        metadata={
            "title": title,
            "description": "bench",
            "category": "loans",
            "sensitivity": "internal",
            "terms": "bench",
            "tags": [],
        },
        file_name="bench.csv",
        size_bytes=size,
        progress_total=size,
        created_by=user,
    )
    shutil.copyfile(path, services.upload_path(upload))
    return upload


def child_publish(path: str, mode: str) -> None:
    """Runs in a child process: one publish (or raw put), prints JSON with time and peak RSS.

    The child is a stand-in for a Celery worker that has been running: a small file goes the
    same way first (in both modes, so the ratio stays fair). Otherwise the timed publish would
    also pay for what a worker does once after it starts: the first connection to the broker
    (the ledger wake-up after commit; 0.1-1 s on a busy machine), the storage thread pool,
    the first pyarrow reader. At 100 MiB those one-off costs were a fifth of the time.
    """
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from catalog import services
    from catalog.synthetic import loans

    size = Path(path).stat().st_size
    warm = Path(path).with_name(f"warm-up-{os.getpid()}.csv")
    warm.write_bytes(loans(random.Random(2), 2_000))
    try:
        if mode == "put":
            from storage.services import object_put

            with warm.open("rb") as stream:
                object_put(stream)
            began, began_cpu = time.perf_counter(), _cpu_seconds()
            with open(path, "rb") as stream:
                object_put(stream)
        else:
            nina = get_user_model().objects.get(username="nina")
            ready = services.upload_process(upload_id=str(queue_upload(nina, warm, "warm").pk))
            assert ready.state == "ready", ready.problems
            upload = queue_upload(nina, Path(path), "bench")
            # The copy above stands for the upload, not the publish.
            began, began_cpu = time.perf_counter(), _cpu_seconds()
            done = services.upload_process(upload_id=str(upload.pk))
            assert done.state == "ready", done.problems
        seconds = time.perf_counter() - began
        cpu_mib = (_cpu_seconds() - began_cpu) / (size / MiB)
    finally:
        warm.unlink(missing_ok=True)
    print(
        json.dumps(
            {"mib_s": size / MiB / seconds, "rss": _peak_rss_mib(), "cpu_ms": cpu_mib * 1000}
        )
    )


def _run_child(env: dict, path: Path, mode: str) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            f"from bench.catalog import child_publish; child_publish({str(path)!r}, {mode!r})",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def _fill_catalog(n: int) -> None:
    from django.contrib.auth import get_user_model

    from catalog.models import Dataset, DatasetVersion, Tag
    from consortium.models import Institution

    rng = random.Random(5)
    institutions = list(Institution.objects.all())
    user = get_user_model().objects.get(username="nina")
    tags = [Tag.objects.get_or_create(name=f"tag{i}")[0] for i in range(40)]
    words = ["loans", "cards", "claims", "scores", "payments", "retail", "sme", "fraud", "risk"]
    cats = [c for c, _ in Dataset.Category.choices]
    sens = [s for s, _ in Dataset.Sensitivity.choices]
    batch = 5000
    for start in range(0, n, batch):
        rows = []
        for i in range(start, min(n, start + batch)):
            title = f"{rng.choice(words).title()} dataset {i}"
            columns = [f"col_{rng.randrange(500)}" for _ in range(6)]
            rows.append(
                Dataset(
                    institution=rng.choice(institutions),
                    title=title,
                    description=f"Synthetic listing {i} about {rng.choice(words)}.",
                    category=rng.choice(cats),
                    sensitivity=rng.choice(sens),
                    terms="bench",
                    search_text=f"{title}\n{' '.join(columns)}",
                    created_by=user,
                )
            )
        made = Dataset.objects.bulk_create(rows)
        versions = DatasetVersion.objects.bulk_create(
            [
                DatasetVersion(
                    dataset=d,
                    number=1,
                    object_id="00000000-0000-0000-0000-000000000000",
                    cid="bafk-bench",
                    size_bytes=1000,
                    row_count=10,
                    columns=[{"name": "a", "type": "text", "null_count": 0}],
                    created_by=user,
                )
                for d in made
            ]
        )
        for d, v in zip(made, versions, strict=True):
            d.current_version = v
        Dataset.objects.bulk_update(made, ["current_version"])
        Through = Dataset.tags.through
        Through.objects.bulk_create(
            [Through(dataset_id=d.pk, tag_id=rng.choice(tags).pk) for d in made]
        )


def _analyze() -> None:
    """On PostgreSQL, the statistics autovacuum would have gathered on a live catalog: straight
    after a bulk insert the planner would see an empty table and could not use index-only
    scans. SQLite is left as Django leaves it, without statistics (nothing runs ANALYZE
    there), so it plans by its fixed heuristics as in a real SQLite deployment."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def _latency(client, url: str, n: int = SAMPLES, cold: bool = False) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """p50 and p99 of the wall time of `n` requests, and the median CPU time this process
    spent on one (the web side's own work: on a shared machine the wall time also holds the
    waits for a core, which the CPU time does not)."""
    from django.core.cache import cache

    client.get(url)
    times, cpu = [], []
    for _ in range(n):
        if cold:
            cache.clear()  # the facet counts are recomputed, as after a change to the catalog
        began, began_cpu = time.perf_counter(), time.thread_time()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        cpu.append((time.thread_time() - began_cpu) * 1000)
        assert response.status_code == 200, response.status_code
    times.sort()
    p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
    return statistics.median(times), p99, statistics.median(cpu)


URLS = [
    ("page", "/catalog/"),
    ("page search", "/catalog/?search=loans"),
    ("page facet", "/catalog/?category=loans&sensitivity=internal"),
    ("api", "/api/v1/datasets/"),
    ("api search", "/api/v1/datasets/?search=col_42"),
    ("api facet", "/api/v1/datasets/?category=cards&tag=tag7"),
]


def child_catalog(engine: str) -> None:
    """The listing figures at BASELINE listings, then at LISTINGS: the same requests on the
    same machine a minute apart, so their ratio says what the catalog's size costs even when
    other work slows both down."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username="nina"))
    engine_name = ENGINE_NAMES.get(engine, engine)
    _fill_catalog(min(BASELINE, LISTINGS))
    _analyze()
    small = {name: _latency(client, url)[0] for name, url in URLS}
    _fill_catalog(max(LISTINGS - BASELINE, 0))
    _analyze()
    # A web process freezes what it loaded at start (portal/gunicorn.conf.py), so a full garbage
    # collection does not walk it; so does this one, the loading above included.
    gc.collect()
    gc.freeze()
    label = f"{engine_name}, {LISTINGS:,} listings"
    print(f"catalog: {label}, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for cold in (False, True):
        for name, url in URLS:
            p50, p99, cpu = _latency(
                client, url, n=SAMPLES if not cold else SAMPLES // 2, cold=cold
            )
            what = "facets recomputed, " if cold else ""
            baseline = (
                ""
                if cold
                else f"; at {BASELINE:,} listings p50 {small[name]:.0f} ms, "
                f"ratio {p50 / small[name]:.2f}"
            )
            print(
                f"catalog.{name.replace(' ', '.')}{'.cold' if cold else ''} [{label}]: "
                f"{what}p50 {p50:.0f} ms, p99 {p99:.0f} ms (goal p99 < 150 ms; "
                f"web process CPU p50 {cpu:.0f} ms{baseline})",
                flush=True,
            )


def _setup_env(engine: str, url: str | None) -> tuple[dict, Path]:
    var_dir = Path(tempfile.mkdtemp(prefix="bizi-bench-catalog-"))
    env = dict(os.environ, BIZI_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="bench.settings")
    env.pop("DATABASE_URL", None)
    if url:
        env["DATABASE_URL"] = url
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run(
        [sys.executable, "manage.py", "load_demo", "--quiet"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    return env, var_dir


def _scratch_name() -> str:
    """`<configured database>_bench_catalog`: unique per checkout on a shared server."""
    configured = os.environ.get("DATABASE_URL", "").rsplit("/", 1)[-1].split("?")[0]
    return f"{configured or 'bizi'}_bench_catalog"


def main() -> None:
    if "check" in PARTS:
        from bench import catalog_check

        catalog_check.main()  # checking alone, then the whole publish path below
    data_dir = Path(tempfile.mkdtemp(prefix="bizi-bench-csv-"))
    try:
        files = {}
        if "publish" in PARTS:
            for mib in SIZES_MIB:
                files[mib] = data_dir / f"loans-{mib}.csv"
                _make_csv(files[mib], mib)
        for engine, url in engines(_scratch_name()):
            with scratch_database(url):
                _run_engine(engine, url, files)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def _run_engine(engine: str, url: str | None, files: dict[int, Path]) -> None:
    env, var_dir = _setup_env(engine, url)
    try:
        for mib, path in files.items():
            if engine == "postgresql" and mib > 100:
                continue  # the database does little in a publish; one size shows it
            put = _run_child(env, path, "put")
            publish = _run_child(env, path, "publish")
            ratio = publish["mib_s"] / put["mib_s"]
            print(
                f"catalog.publish [{ENGINE_NAMES.get(engine, engine)}] size={mib}MiB: "
                f"{publish['mib_s']:.0f} MiB/s, "
                f"peak RSS {publish['rss']:.0f} MiB (storage put {put['mib_s']:.0f} MiB/s, "
                f"peak RSS {put['rss']:.0f} MiB; ratio {ratio:.2f}; CPU per MiB "
                f"{publish['cpu_ms']:.1f} ms publish, {put['cpu_ms']:.1f} ms put; "
                "goal >= 100 MiB/s, flat memory)",
                flush=True,
            )
        if "listings" in PARTS:
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    f"from bench.catalog import child_catalog; child_catalog({engine!r})",
                ],
                cwd=ROOT,
                env=env,
                check=True,
            )
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
