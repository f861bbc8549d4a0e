"""Run benchmark groups: `python -m bench [group ...]`."""

import importlib
import os
import sys

GROUPS = {
    "web": "bench.web",
    "ledger": "bench.ledger",
    "catalog": "bench.catalog",
    "access": "bench.access",
    "sharing": "bench.sharing",
    "storage": "bench.storage_suite",  # storage-codec, then storage-io
    "storage-codec": "bench.storage_codec",
    "storage-io": "bench.storage_io",
    "survey": "bench.survey",
    "dashboards": "bench.dashboards",
}

# What `make bench` runs; the finer groups above are for running one part alone.
DEFAULT = ["web", "ledger", "storage", "catalog", "access", "sharing", "survey", "dashboards"]


def main(argv: list[str]) -> int:
    # The demo data and the access flows send notification e-mails; keep them out of the figures.
    os.environ.setdefault("EMAIL_BACKEND", "django.core.mail.backends.dummy.EmailBackend")
    names = [a for a in argv if a] or DEFAULT
    unknown = [n for n in names if n not in GROUPS]
    if unknown:
        print(f"unknown group(s): {', '.join(unknown)}; known: {', '.join(GROUPS)}")
        return 2
    for name in names:
        print(f"== {name} ==", flush=True)
        importlib.import_module(GROUPS[name]).main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
