"""`make audit`'s pip-audit wrapper (.ci/audit.py): real findings fail; no data is no pass."""

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AUDIT = ROOT / ".ci" / "audit.py"
DJANGO = {"name": "django", "version": "5.2.19", "vulns": []}


def fake_pip_audit(tmp_path: Path, stdout: str, stderr: str = "", status: int = 0) -> Path:
    (tmp_path / "out.txt").write_text(stdout)
    (tmp_path / "err.txt").write_text(stderr)
    script = tmp_path / "pip-audit"
    script.write_text(
        "#!/bin/sh\n"
        f"cat '{tmp_path / 'out.txt'}'\n"
        f"cat '{tmp_path / 'err.txt'}' >&2\n"
        f"exit {status}\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def audit(tmp_path: Path, stdout: str, stderr: str = "", status: int = 0, **env: str):
    script = fake_pip_audit(tmp_path, stdout, stderr, status)
    return subprocess.run(
        [sys.executable, str(AUDIT)],
        env={**os.environ, "PIP_AUDIT": str(script), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def report(*dependencies: dict) -> str:
    return json.dumps({"dependencies": list(dependencies), "fixes": []})


def test_a_known_vulnerability_fails_the_audit(tmp_path):
    vulnerable = {
        "name": "requests",
        "version": "2.0.0",
        "vulns": [{"id": "GHSA-xxxx", "fix_versions": ["2.32.4"], "description": "..."}],
    }

    done = audit(tmp_path, report(DJANGO, vulnerable), status=1)

    assert done.returncode == 1
    assert "requests 2.0.0: GHSA-xxxx (fix: 2.32.4)" in done.stdout


def test_a_clean_audit_passes(tmp_path):
    done = audit(tmp_path, report(DJANGO, {"name": "openprovider", "skip_reason": "local"}))

    assert done.returncode == 0
    assert "audit: ok - 1 dependencies audited" in done.stdout


@pytest.mark.parametrize("strict", ["", "1"])
def test_no_vulnerability_data_is_reported_as_not_performed(tmp_path, strict):
    skipped = {"name": "django", "skip_reason": "Dependency not found on PyPI"}

    done = audit(tmp_path, report(skipped), AUDIT_STRICT=strict)

    assert "NOT PERFORMED" in done.stderr
    assert done.returncode == (1 if strict else 0)


def test_an_unreachable_service_is_reported_as_not_performed(tmp_path):
    error = "requests.exceptions.ConnectionError: Max retries exceeded with url: /pypi/django"

    done = audit(tmp_path, "", stderr=error, status=1)

    assert done.returncode == 0
    assert "NOT PERFORMED - vulnerability service unreachable" in done.stderr


def test_any_other_pip_audit_failure_fails(tmp_path):
    done = audit(tmp_path, "", stderr="Traceback: something broke", status=2)

    assert done.returncode == 1
