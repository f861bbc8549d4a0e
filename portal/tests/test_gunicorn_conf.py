"""portal/gunicorn.conf.py: the app loads in the master, and pre_fork freezes what it loaded."""

import gc
import runpy
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CONF = ROOT / "portal" / "gunicorn.conf.py"


def test_gunicorn_accepts_the_configuration_and_loads_the_app():
    result = subprocess.run(  # noqa: S603 - gunicorn of this interpreter, our own config
        [sys.executable, "-m", "gunicorn", "-c", str(CONF), "--check-config"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_master_preloads_the_app_and_freezes_it_before_each_fork():
    """Full garbage collections in the workers stop walking the ~140,000 long-lived objects (the
    catalog's and dashboards' p99 spikes), and leave the master's pages shared."""
    conf = runpy.run_path(str(CONF))
    assert conf["preload_app"] is True
    assert conf["wsgi_app"] == "portal.wsgi:application"
    conf["when_ready"](None)
    gc.unfreeze()
    try:
        conf["pre_fork"](None, None)
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
