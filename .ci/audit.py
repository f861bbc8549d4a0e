#!/usr/bin/env python3
"""CI's dependency audit: pip-audit on requirements.lock, failing on a known vulnerability.

    .venv/bin/python .ci/audit.py [requirements.lock]

Vulnerabilities we have judged and accept are listed in .ci/pip-audit-ignore.txt, one
`--ignore-vuln ID` a line with the reason in a `#` comment. When the vulnerability service
cannot be reached (pip-audit crashes, or looks up no package at all: a machine that reaches
only a PyPI mirror gets "Dependency not found on PyPI" for each), the audit says loudly that it
was NOT possible and does not fail the build on the network: exit 0, with that message.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
IGNORE_FILE = HERE / "pip-audit-ignore.txt"


def ignored(text: str) -> list[str]:
    """The `--ignore-vuln ID` arguments of the ignore file (comments and blank lines skipped)."""
    args: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        flag, _, vuln = line.partition(" ")
        if flag != "--ignore-vuln" or not vuln.strip():
            raise SystemExit(f"{IGNORE_FILE.name}: expected `--ignore-vuln ID  # reason`: {raw!r}")
        args += ["--ignore-vuln", vuln.strip()]
    return args


def verdict(report: dict | None, stderr: str = "") -> tuple[int, str]:
    """(exit code, message) for a pip-audit JSON report, or None when pip-audit gave none."""
    if report is None:
        last = stderr.strip().splitlines()[-1:] or ["no output"]
        return 0, f"AUDIT NOT POSSIBLE: pip-audit could not run to the end ({last[0]})"
    deps = report.get("dependencies", [])
    audited = [d for d in deps if "skip_reason" not in d]
    vulnerable = [d for d in audited if d.get("vulns")]
    if vulnerable:
        lines = [
            f"  {d['name']} {d['version']}: {v['id']}"
            + (f" (fixed in {', '.join(v['fix_versions'])})" if v.get("fix_versions") else "")
            for d in vulnerable
            for v in d["vulns"]
        ]
        return 1, "KNOWN VULNERABILITIES in requirements.lock:\n" + "\n".join(lines)
    if deps and not audited:
        reason = deps[0]["skip_reason"]
        return 0, (
            "AUDIT NOT POSSIBLE: the vulnerability service answered for none of the "
            f"{len(deps)} packages (e.g. {reason}). Nothing was checked."
        )
    skipped = len(deps) - len(audited)
    note = f"; {skipped} could not be looked up" if skipped else ""
    return 0, f"no known vulnerabilities in {len(audited)} packages{note}"


def main() -> int:
    lock = sys.argv[1] if len(sys.argv) > 1 else "requirements.lock"
    pip_audit = Path(sys.executable).with_name("pip-audit")
    extra = ignored(IGNORE_FILE.read_text()) if IGNORE_FILE.exists() else []
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "audit.json"
        result = subprocess.run(  # noqa: S603 - our own venv's pip-audit, fixed arguments
            [
                str(pip_audit),
                *("-r", lock, "--no-deps", "--disable-pip", "--progress-spinner", "off"),
                *("--format", "json", "--output", str(out)),
                *extra,
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            report = json.loads(out.read_text())
        except (OSError, ValueError):
            report = None
    code, message = verdict(report, result.stderr)
    print(message)
    return code


if __name__ == "__main__":
    sys.exit(main())
