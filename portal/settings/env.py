"""What every settings module reads the environment with, and the two folders they name.

`env` is django-environ's typed reader (`env.int`, `env.bool`, `env.list`…).
"""

from pathlib import Path

import environ

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Everything the portal writes at run time (SQLite, keys, shards, broker folders) lives here.
VAR_DIR = Path(env.str("BIZI_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)
