"""Supply-chain audit of the installed (pinned) dependencies: `make audit` runs this.

Runs `pip-audit -s pypi` (PIP_AUDIT overrides the executable) and fails on any known
vulnerability. When the vulnerability data cannot be fetched (no network, or an index mirror
without PyPI's JSON API, which answers 404 for every package) the audit did not happen: that is
reported loudly and, unless AUDIT_STRICT=1, does not fail the build, because it says nothing
about the dependencies.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

VENV_BIN = Path(sys.executable).parent
NETWORK_ERRORS = (
    "ConnectionError",
    "Max retries exceeded",
    "NameResolutionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "timed out",
    "ProxyError",
    "SSLError",
)
PROJECT = "openprovider"


def not_performed(reason: str) -> int:
    print(f"audit: NOT PERFORMED - {reason}", file=sys.stderr)
    print("audit: dependencies were not checked for known vulnerabilities", file=sys.stderr)
    return 1 if os.environ.get("AUDIT_STRICT") == "1" else 0


def main() -> int:
    pip_audit = os.environ.get("PIP_AUDIT") or str(VENV_BIN / "pip-audit")
    command = [pip_audit, "-s", "pypi", "-f", "json", "--progress-spinner", "off"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=False)
    try:
        report = json.loads(done.stdout)
    except json.JSONDecodeError:
        error = done.stderr.strip().splitlines()[-1:] or ["no output"]
        if any(marker in done.stderr for marker in NETWORK_ERRORS):
            return not_performed(f"vulnerability service unreachable ({error[0][:200]})")
        print(done.stderr, file=sys.stderr)
        print(f"audit: pip-audit failed (exit {done.returncode})", file=sys.stderr)
        return 1

    dependencies = [d for d in report.get("dependencies", []) if d.get("name") != PROJECT]
    vulnerable = [d for d in dependencies if d.get("vulns")]
    skipped = [d for d in dependencies if d.get("skip_reason")]
    for dependency in vulnerable:
        for vuln in dependency["vulns"]:
            fixes = ", ".join(vuln.get("fix_versions") or []) or "no fix yet"
            print(
                f"audit: {dependency['name']} {dependency['version']}: {vuln['id']} (fix: {fixes})"
            )
    if vulnerable:
        print(f"audit: FAILED - {len(vulnerable)} dependencies with known vulnerabilities")
        return 1
    if dependencies and len(skipped) == len(dependencies):
        sample = skipped[0]["skip_reason"]
        return not_performed(
            f"no vulnerability data for any of {len(skipped)} dependencies "
            f"(e.g. {sample!r}); is pypi.org's JSON API reachable?"
        )
    audited = len(dependencies) - len(skipped)
    for dependency in skipped:
        print(f"audit: skipped {dependency['name']}: {dependency['skip_reason']}", file=sys.stderr)
    print(f"audit: ok - {audited} dependencies audited, no known vulnerabilities")
    return 0


if __name__ == "__main__":
    sys.exit(main())
