"""Run benchmark groups: `python -m bench [group ...]`."""

import importlib
import sys

GROUPS = {
    "web": "bench.web",
    "ledger": "bench.ledger",
    "storage": "bench.storage_codec",
}


def main(argv: list[str]) -> int:
    names = [a for a in argv if a] or list(GROUPS)
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
