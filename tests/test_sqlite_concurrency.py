"""Embedded mode on a SQLite *file* (WAL): web and worker processes write at once.

Two processes, for a bounded few seconds: one writes request-log rows like /v1 requests do,
the other runs catalog syncs (200-row transactions). Neither may see "database is locked":
settings use WAL, BEGIN IMMEDIATE and a 20 s busy timeout.
"""

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WRITERS = Path(__file__).resolve().parent / "sqlite_writers.py"
SECONDS = 5


def test_web_and_worker_processes_write_one_sqlite_file_without_lock_errors(tmp_path):
    database = tmp_path / "embedded.sqlite3"
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{database}",
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "filesystem://",
    }

    def manage(*args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, timeout=180
        )

    manage("migrate", "--noinput", "-v", "0")
    manage(
        "shell",
        "-c",
        "from accounts.models import User; "
        "User.objects.create_user('writers@example.com', password='writers password 1')",
    )

    writers = [
        subprocess.Popen(
            [sys.executable, str(WRITERS), role, str(SECONDS)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for role in ("web", "worker", "web")
    ]
    results = []
    for writer in writers:
        out, err = writer.communicate(timeout=SECONDS + 120)
        assert writer.returncode == 0, err[-3000:]
        results.append(json.loads(out))

    assert [r["errors"] for r in results] == [[], [], []]
    assert all(r["writes"] > 0 for r in results), results
    with sqlite3.connect(database) as check:
        assert check.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        logged = check.execute("SELECT count(*) FROM gateway_requestlog").fetchone()[0]
    assert logged * 2 == results[0]["writes"] + results[2]["writes"]
