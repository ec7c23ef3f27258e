"""Production configuration: `check --deploy` is clean with real secrets and refuses placeholders;
`.env.example` documents every environment variable the settings read."""

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = ROOT / ".env.example"
ENV_READERS = [ROOT / "config" / "settings.py", ROOT / "config" / "gunicorn.py"]
ENV_NAME_PATTERNS = [
    re.compile(r"""\benv(?:\.\w+)?\(\s*["']([A-Z][A-Z0-9_]*)["']"""),
    re.compile(r"""environ\.get\(\s*["']([A-Z][A-Z0-9_]*)["']"""),
    re.compile(r"""environ\[\s*["']([A-Z][A-Z0-9_]*)["']"""),
    re.compile(r"""startswith\(\s*["']([A-Z][A-Z0-9_]*)["']"""),
]


def _manage(
    args: list[str], unset: tuple[str, ...] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    base = {name: value for name, value in os.environ.items() if name not in unset}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _production_env() -> dict[str, str]:
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "OPENPROVIDER_ENCRYPTION_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "example.com",
    }


def test_check_deploy_is_clean_with_production_values():
    result = _manage(["check", "--deploy", "--fail-level", "WARNING"], **_production_env())

    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_refuses_the_default_placeholder_secrets():
    secrets_unset = ("SECRET_KEY", "OPENPROVIDER_ENCRYPTION_KEY")

    result = _manage(
        ["check", "--deploy"], unset=secrets_unset, DEBUG="false", ALLOWED_HOSTS="example.com"
    )

    assert result.returncode != 0
    assert "openprovider.E001" in result.stderr
    assert "SECRET_KEY is a placeholder" in result.stderr
    assert "openprovider.E002" in result.stderr


def test_check_deploy_refuses_the_placeholder_values_from_env_example():
    env = {
        **_production_env(),
        "SECRET_KEY": settings.DEV_SECRET_KEY,
        "OPENPROVIDER_ENCRYPTION_KEY": settings.DEV_ENCRYPTION_KEY,
    }

    result = _manage(["check", "--deploy"], **env)

    assert result.returncode != 0
    assert "SECRET_KEY is a placeholder" in result.stderr
    assert _env_example_values()["SECRET_KEY"] == settings.DEV_SECRET_KEY


def test_check_refuses_an_encryption_key_equal_to_the_secret_key():
    env = _production_env()
    env["OPENPROVIDER_ENCRYPTION_KEY"] = env["SECRET_KEY"]

    result = _manage(["check", "--deploy"], **env)

    assert result.returncode != 0
    assert "openprovider.E003" in result.stderr


def _env_names_read_by_the_code() -> set[str]:
    names: set[str] = set()
    for path in ENV_READERS:
        source = path.read_text()
        for pattern in ENV_NAME_PATTERNS:
            names.update(pattern.findall(source))
    return names


def _env_example_values() -> dict[str, str]:
    values = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        name, sep, value = line.partition("=")
        if sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
            values[name] = value
    return values


def test_env_example_documents_every_variable_the_settings_read():
    documented = ENV_EXAMPLE.read_text()
    names = _env_names_read_by_the_code()

    missing = [name for name in sorted(names) if not re.search(rf"^(# )?{name}", documented, re.M)]

    assert {"SECRET_KEY", "DATABASE_URL", "WEB_CONCURRENCY", "OPENPROVIDER_BASE_URL_"} <= names
    assert missing == []


def test_env_example_values_are_a_working_dev_configuration():
    values = _env_example_values()

    result = _manage(["check"], **values)

    assert values["DEBUG"] == "true"
    assert result.returncode == 0, result.stdout + result.stderr
