"""What every settings module reads the environment with, and the two folders they name.

`env` is django-environ's typed reader (`env.int`, `env.bool`, `env.list`…); `secret()` reads
the settings that are secrets, from the environment or from a file.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

BASE_DIR = Path(__file__).resolve().parent.parent.parent
# Everything the portal writes at run time (SQLite, keys, shards, broker folders) lives here.
# Importing the settings creates nothing: whatever writes below this folder makes the folders
# it needs when it first writes (the SQLite backend, Celery's broker folders, the key files…).
VAR_DIR = Path(env.str("BIZI_VAR_DIR", default=str(BASE_DIR / "var")))


def secret(name: str, default: str | None = None, *, read_file: bool = True) -> str:
    """The secret `name`: the environment variable of that name, or the contents of the file
    that `<name>_FILE` names (Docker and Kubernetes secrets), less one trailing newline.

    Values are taken literally (no django-environ `$VAR` proxying), and a variable set to the
    empty string counts as unset. Both set: ImproperlyConfigured, since either might be the
    stale one. Neither: `default`, or ImproperlyConfigured without one. A file that cannot be
    read: ImproperlyConfigured naming the file (never the secret).

    `read_file=False` is for keys whose `<name>_FILE` is a setting of its own, read (and
    outside production created) by the code that uses the key: it returns "" when only the
    file is given, and still refuses both.
    """
    value = os.environ.get(name, "")
    path = os.environ.get(f"{name}_FILE", "")
    if value and path:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
    if value:
        return value
    if path and not read_file:
        return ""
    if path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise ImproperlyConfigured(f"{name}_FILE: {path} is not UTF-8 text") from None
        return text[:-1].removesuffix("\r") if text.endswith("\n") else text
    if default is None:
        raise ImproperlyConfigured(f"Set {name} or {name}_FILE.")
    return default
