"""CI's dependency audit (.ci/audit.py): fails on a known vulnerability, says plainly when the
vulnerability service could not be reached, and reads the ignore file."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("ci_audit", ROOT / ".ci" / "audit.py")
assert spec is not None and spec.loader is not None
audit = importlib.util.module_from_spec(spec)
spec.loader.exec_module(audit)


def test_a_known_vulnerability_fails_the_build():
    report = {
        "dependencies": [
            {
                "name": "django",
                "version": "5.2.0",
                "vulns": [{"id": "PYSEC-2099-1", "fix_versions": ["5.2.1"], "aliases": []}],
            },
            {"name": "six", "version": "1.17.0", "vulns": []},
        ]
    }
    code, message = audit.verdict(report)
    assert code == 1
    assert "django 5.2.0: PYSEC-2099-1 (fixed in 5.2.1)" in message


def test_a_clean_report_passes():
    report = {"dependencies": [{"name": "six", "version": "1.17.0", "vulns": []}]}
    assert audit.verdict(report) == (0, "no known vulnerabilities in 1 packages")


def test_no_package_looked_up_is_an_audit_not_possible_not_a_pass():
    report = {
        "dependencies": [
            {"name": "six", "skip_reason": "Dependency not found on PyPI and could not be audited"}
        ]
    }
    code, message = audit.verdict(report)
    assert code == 0 and message.startswith("AUDIT NOT POSSIBLE")


def test_a_crash_on_the_network_is_an_audit_not_possible():
    code, message = audit.verdict(None, "requests.exceptions.ConnectionError: api.osv.dev")
    assert code == 0 and "AUDIT NOT POSSIBLE" in message and "osv.dev" in message


def test_the_ignore_file_gives_one_ignore_vuln_per_line_and_skips_comments():
    text = "# accepted\n--ignore-vuln GHSA-xxxx  # not reachable: we never parse YAML\n\n"
    assert audit.ignored(text) == ["--ignore-vuln", "GHSA-xxxx"]
    assert audit.ignored(audit.IGNORE_FILE.read_text()) == []
    with pytest.raises(SystemExit):
        audit.ignored("GHSA-xxxx\n")
