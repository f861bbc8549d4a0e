"""Delta Sharing benchmark: making a grant's Parquet view files, and serving them.

The access benchmark's setup (`bench.access.child_prepare`: a generated loans CSV of
BENCH_SHARING_MIB MiB, default 256, published; Harbor Mutual granted four of eight columns,
a row filter and a pseudonym), then, each in a fresh child process:

- make: `sharing.services.share_files_make` (the worker's job), MiB/s of the stored CSV,
  the files it cut (SHARING_FILE_BYTES) and peak RSS;
- serve: `POST …/query` and a `GET` of every file URL through Django, consumed to the end,
  MiB/s of Parquet delivered and peak RSS.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from bench.access import child, granted_demo
from bench.catalog import MiB, _peak_rss_mib

ROOT = Path(__file__).resolve().parent.parent
SIZE_MIB = int(os.environ.get("BENCH_SHARING_MIB", "256"))


def child_make(grant_id: int, size: int) -> None:
    import django

    django.setup()
    from sharing import services
    from sharing.models import ShareTable

    began = time.perf_counter()
    assert services.share_files_make(grant_id=grant_id)
    seconds = time.perf_counter() - began
    table = ShareTable.objects.get(grant_id=grant_id)
    print(
        json.dumps(
            {
                "mib_s": size / MiB / seconds,
                "files": table.files.count(),
                "parquet_mib": table.bytes / MiB,
                "rows": table.rows,
                "rss": _peak_rss_mib(),
            }
        )
    )


def child_serve(grant_id: int) -> None:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.test import Client

    from access.models import Grant
    from sharing import services

    grant = Grant.objects.get(pk=grant_id)
    omar = get_user_model().objects.get(username="omar")
    _token, secret = services.sharing_token_create(user=omar, grant=grant)
    auth = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    share, table = services.share_name(grant), services.table_name(grant)
    client = Client()
    # A running server has its URLs and views loaded: warm up with the share list.
    assert client.get("/delta-sharing/shares", **auth).status_code == 200
    began = time.perf_counter()
    response = client.post(
        f"/delta-sharing/shares/{share}/schemas/default/tables/{table}/query",
        data="{}",
        content_type="application/json",
        **auth,
    )
    assert response.status_code == 200, response.content
    out = 0
    for line in response.content.splitlines()[2:]:
        url = json.loads(line)["file"]["url"]
        path = "/delta-sharing" + url.split("/delta-sharing", 1)[1]
        fetched = client.get(path)
        assert fetched.status_code == 200, fetched.status_code
        out += sum(len(p) for p in fetched.streaming_content)
    seconds = time.perf_counter() - began
    print(json.dumps({"mib_s": out / MiB / seconds, "out_mib": out / MiB, "rss": _peak_rss_mib()}))


def _child(env: dict, call: str) -> dict:
    return child(env, call, "from bench.sharing import *; from bench.access import *")


def main() -> None:
    var_dir = Path(tempfile.mkdtemp(prefix="bizi-bench-sharing-"))
    try:
        env, made = granted_demo(var_dir, SIZE_MIB)
        files = _child(env, f"child_make({made['grant']}, {made['size']})")
        served = _child(env, f"child_serve({made['grant']})")
        print(
            f"sharing.make size={SIZE_MIB}MiB columns=4/8 filter+mask: {files['mib_s']:.0f} MiB/s "
            f"of CSV, {files['files']} Parquet files, {files['parquet_mib']:.1f} MiB, "
            f"{files['rows']} rows, peak RSS {files['rss']:.0f} MiB",
            flush=True,
        )
        print(
            f"sharing.serve query+fetch all files: {served['mib_s']:.0f} MiB/s of Parquet, "
            f"{served['out_mib']:.1f} MiB, peak RSS {served['rss']:.0f} MiB",
            flush=True,
        )
    finally:
        shutil.rmtree(var_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
