"""The filesystem broker (`CELERY_BROKER_URL=filesystem://`) works from a fresh checkout and
sends tasks without kombu's "No hostname was supplied" warning."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import broker_with_host

ROOT = Path(__file__).resolve().parent.parent
SEND = (
    "from config.celery import app; "
    "app.send_task('catalog.tasks.catalog_sync_all_task'); "
    "print(app.conf.broker_url)"
)


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("filesystem://", "filesystem://localhost/"),
        ("filesystem:///", "filesystem://localhost/"),
        ("filesystem://localhost/", "filesystem://localhost/"),
        ("redis://127.0.0.1:6379/2", "redis://127.0.0.1:6379/2"),
        (
            "redis+socket:///srv/var/redis.sock?virtual_host=1",
            "redis+socket:///srv/var/redis.sock?virtual_host=1",
        ),
    ],
)
def test_only_a_host_less_filesystem_url_is_given_its_host(given, used):
    assert broker_with_host(given) == used


def test_a_manage_py_command_sends_a_task_through_the_filesystem_broker_quietly(tmp_path):
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "filesystem://",
    }

    done = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SEND],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert "No hostname was supplied" not in done.stderr
    assert done.stdout.splitlines()[-1] == "filesystem://localhost/"
    assert [p.suffix for p in (tmp_path / "broker" / "out").iterdir()] == [".msg"]
