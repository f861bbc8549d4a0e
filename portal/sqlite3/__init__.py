"""Django's SQLite backend, making the database file's folder when it first connects.

The embedded default keeps its database under `var/` (BIZI_VAR_DIR), which nothing creates at
import time; the settings name this backend for every SQLite DATABASE_URL (base.py).
"""
