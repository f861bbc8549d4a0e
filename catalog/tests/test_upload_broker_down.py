"""A large upload sent while Redis is down: the page accepts it and says it will be checked, the
upload stays `received`, and once Redis is back beat sends it and a real worker publishes it.

The web side runs in a process of its own (as gunicorn would), pointed at a Redis this test can
stop; it posts the file through the publish page with Django's test client.
"""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from catalog.models import Dataset, DatasetUpload
from conftest import wait_for

pytestmark = [pytest.mark.celery, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ROWS = 120_000  # about 4 MiB

WEB = """
import json, time
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
client = Client()
client.force_login(get_user_model().objects.get(username={username!r}))
began = time.monotonic()
with open({path!r}, "rb") as f:
    response = client.post(reverse("publish"), {{
        "title": "Loans while Redis was down", "description": "Four MiB of loans.",
        "category": "loans", "sensitivity": "internal", "terms": "Testing only.",
        "tags": "loans", "file": f,
    }})
seconds = time.monotonic() - began
page = client.get(response["Location"]) if response.status_code == 302 else response
print(json.dumps({{"status": response.status_code, "location": response.get("Location", ""),
                  "seconds": seconds, "page_status": page.status_code,
                  "page": page.content.decode()}}))
"""


def _csv(path: Path) -> Path:
    with path.open("w") as out:
        out.write("loan_id,amount,opened,defaulted,region\n")
        for n in range(ROWS):
            out.write(f"{n},{1000 + n % 997}.50,2024-0{1 + n % 9}-1{n % 10},false,north\n")
    return path


def test_a_large_upload_while_redis_is_down_is_published_once_it_is_back(
    cast, own_redis, worker_factory, tmp_path
):
    env = {
        "REDIS_URL": own_redis["url"],
        "BIZI_VAR_DIR": str(tmp_path / "var"),  # uploads and shards shared by web and worker
        "CATALOG_SYNC_BYTES": str(1 << 20),  # a few MiB goes to a worker, as 16+ MiB would
        "CATALOG_UPLOAD_RESEND_SECONDS": "1",
        "HEARTBEAT_INTERVAL_SECONDS": "3600",
        "LEDGER_VERIFY_SECONDS": "3600",
    }
    (tmp_path / "var").mkdir()
    worker = worker_factory(env, beat=True)
    worker.start()
    csv = _csv(tmp_path / "loans.csv")
    assert csv.stat().st_size > 3 << 20

    own_redis["stop"]()
    web = subprocess.run(  # noqa: S603 - the project's own manage.py
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            WEB.format(username=cast.bob.user.username, path=str(csv)),
        ],
        env=worker.env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result = json.loads(web.stdout.strip().splitlines()[-1])
    assert result["status"] == 302, result["page"][-2000:]
    assert "/catalog/uploads/" in result["location"], "to the upload's page, not an error"
    assert result["page_status"] == 200
    assert "A worker checks and stores it" in result["page"]
    assert result["seconds"] < 20, "the page does not hang on the broker"
    upload = DatasetUpload.objects.get()
    time.sleep(2)  # beat's sweeps come and go meanwhile: nothing reaches the worker
    upload.refresh_from_db()
    assert upload.state == "received" and not Dataset.objects.exists()

    own_redis["start"]()
    done = wait_for(
        lambda: DatasetUpload.objects.filter(pk=upload.pk, state__in=["ready", "failed"]).first(),
        timeout=120,
    )
    assert done.state == "ready", done.problems
    dataset = Dataset.objects.get()
    assert dataset.current_version.row_count == ROWS
    assert dataset.title == "Loans while Redis was down"
