"""Access benchmark: streaming a grant's view against reading the stored object plainly.

A generated loans CSV of BENCH_ACCESS_MIB MiB (default 1024) is published through the real
path; Harbor Mutual gets a grant of four of its eight columns, a row filter and a
pseudonymized column. Each figure is measured in a fresh child process:

- storage open: `object_open` of the published CSV read to the end (decrypt, decode,
  verify), MiB/s and peak RSS;
- download: `GET /api/v1/grants/{id}/data/?format=csv` through Django, consumed to the end:
  MiB/s of the stored CSV, time to first byte, peak RSS, and the ratio to storage open. The
  download reads the version's Arrow copy (the same rows, parsed and zstd-compressed by a
  worker after the publish, `catalog.services.version_arrow_copy`), whose size is
  printed beside it; with BENCH_ACCESS_COPY=csv it parses the CSV instead, as for a version
  whose copy is not made yet.

The generated file repeats 20,000 loans, so the pseudonymized column has 20,000 distinct
values: each is hashed once per download, and later rows are looked up (access/projection.py,
`Pseudonymizer`). A column of values that never repeat costs about 1 µs of HMAC per row more.
SQLite in a temporary folder (the database does little here).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.catalog import MiB, _make_csv, _peak_rss_mib, queue_upload

ROOT = Path(__file__).resolve().parent.parent
SIZE_MIB = int(os.environ.get("BENCH_ACCESS_MIB", "1024"))
FORMAT = os.environ.get("BENCH_ACCESS_FORMAT", "csv")
COLUMNS = ["loan_id", "region", "amount", "defaulted"]
FILTER = "amount >= 5000 and region in ('north', 'south')"
MASKS = {"loan_id": "pseudonymize"}


def child_prepare(path: str) -> None:
    """Publish the file as Northbank and grant a view of it to Harbor Mutual."""
    import django

    django.setup()
    from django.contrib.auth import get_user_model

    from access import services as access
    from catalog import services

    users = get_user_model().objects
    nina, sam, omar = (users.get(username=n) for n in ("nina", "sam", "omar"))
    upload = queue_upload(nina, Path(path), "bench loans")
    done = services.upload_process(upload_id=str(upload.pk))
    assert done.state == "ready", done.problems
    request = access.access_request_create(
        user=omar,
        dataset=done.dataset,
        purpose="Benchmark the streaming of a grant's view.",
        columns=COLUMNS,
        filter_text=FILTER,
        duration_days=30,
    )
    grant = access.access_request_approve(
        user=sam, request=request, approval=access.Approval(masks=MASKS)
    )
    from storage.models import StoredObject

    version = done.version
    if os.environ.get("BENCH_ACCESS_COPY") != "csv":
        assert services.version_arrow_copy(version_id=version.pk)  # the worker's job
        version.refresh_from_db()
    copy = StoredObject.objects.filter(pk=version.arrow_object_id).values_list("size", flat=True)
    print(
        json.dumps(
            {
                "grant": grant.pk,
                "object": str(version.object_id),
                "size": upload.size_bytes,
                "copy": copy.first() or 0,
            }
        )
    )


def child_open(object_id: str, size: int) -> None:
    import django

    django.setup()
    from storage.services import object_open

    began = time.perf_counter()
    with object_open(object_id) as stream:
        while stream.read(1 << 20):
            pass
    seconds = time.perf_counter() - began
    print(json.dumps({"mib_s": size / MiB / seconds, "rss": _peak_rss_mib()}))


def child_download(grant_id: int, size: int, fmt: str) -> None:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from access.projection import DEFAULT_THREADS

    client = Client()
    client.force_login(get_user_model().objects.get(username="omar"))
    # A running server has its URLs and views loaded: warm up with the grant's own record.
    assert client.get(f"/api/v1/grants/{grant_id}/").status_code == 200
    began = time.perf_counter()
    response = client.get(f"/api/v1/grants/{grant_id}/data/", {"format": fmt})
    assert response.status_code == 200, response.status_code
    first, out = None, 0
    for piece in response.streaming_content:
        if first is None:
            first = time.perf_counter() - began
        out += len(piece)
    seconds = time.perf_counter() - began
    print(
        json.dumps(
            {
                "mib_s": size / MiB / seconds,
                "ttfb_ms": (first or seconds) * 1000,
                "out_mib": out / MiB,
                "rss": _peak_rss_mib(),
                "block_mib": settings.ACCESS_DOWNLOAD_BLOCK_BYTES / MiB,
                "threads": DEFAULT_THREADS,
            }
        )
    )


def child(env: dict, call: str, imports: str = "from bench.access import *") -> dict:
    """Run `call` in a fresh process (its own settings and database); its last line's JSON."""
    out = subprocess.run(
        [sys.executable, "-c", f"{imports}; {call}"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def granted_demo(var_dir: Path, size_mib: int) -> tuple[dict, dict]:
    """A scratch demo under `var_dir` with a generated loans CSV of `size_mib` published and
    granted (child_prepare); returns the children's environment and what was made."""
    env = dict(os.environ, BIZI_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="bench.settings")
    env.pop("DATABASE_URL", None)
    for command in (["migrate", "-v0"], ["load_demo", "--quiet"]):
        subprocess.run(
            [sys.executable, "manage.py", *command],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
        )
    path = var_dir / "loans.csv"
    _make_csv(path, size_mib)
    made = child(env, f"child_prepare({str(path)!r})")
    path.unlink()
    return env, made


def main() -> None:
    var_dir = Path(tempfile.mkdtemp(prefix="bizi-bench-access-"))
    try:
        env, made = granted_demo(var_dir, SIZE_MIB)
        plain = child(env, f"child_open({made['object']!r}, {made['size']})")
        view = child(env, f"child_download({made['grant']}, {made['size']}, {FORMAT!r})")
        print(
            f"access.download size={SIZE_MIB}MiB format={FORMAT} columns=4/8 filter+mask: "
            f"{view['mib_s']:.0f} MiB/s, first byte {view['ttfb_ms']:.0f} ms, "
            f"peak RSS {view['rss']:.0f} MiB, {view['out_mib']:.0f} MiB out, "
            + (
                f"from the Arrow copy ({made['copy'] / made['size']:.2f} of the CSV's bytes) "
                if made["copy"]
                else f"parsing the CSV in {view['block_mib']:g} MiB chunks "
            )
            + f"on {view['threads']} threads "
            f"(storage open {plain['mib_s']:.0f} MiB/s, peak RSS {plain['rss']:.0f} MiB; "
            f"ratio {view['mib_s'] / plain['mib_s']:.2f}; "
            "goals: ratio >= 0.5, first byte < 300 ms, flat memory)",
            flush=True,
        )
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
