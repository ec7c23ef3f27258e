"""A real Celery worker killed with SIGKILL in the middle of a catalog sync.

The worker (tests/catalog/crash_worker.py: the real app, stalled inside the sync transaction
after every upsert) consumes from a real Redis broker and writes to the same database as this
test: the pytest test database on PostgreSQL (CI), else a migrated SQLite file. After `kill -9`
the catalog must equal the snapshot from before the sync; a new worker must get the same
message back (acks_late + the broker's visibility timeout), take back the lock the dead worker
left, and converge on the new listing.
"""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent.parent
PROBE = Path(__file__).resolve().parent / "crash_probe.py"
BEFORE = [f"m-{i:03d}" for i in range(30)]
AFTER = [f"m-{i:03d}" for i in range(10, 50)]  # 10 vanish, 20 appear
WAIT_SECONDS = 60


class Listing(BaseHTTPRequestHandler):
    """GET /v1/models of a custom OpenAI-compatible server; the ids are set by the test."""

    ids: list[str] = BEFORE

    def do_GET(self) -> None:
        body = json.dumps({"data": [{"id": i, "object": "model"} for i in self.ids]}).encode()
        self.send_response(200 if self.path == "/v1/models" else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        return


@pytest.fixture
def listing() -> Iterator[tuple[str, type[Listing]]]:
    handler = type("TestListing", (Listing,), {"ids": BEFORE})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", handler
    finally:
        server.shutdown()
        server.server_close()


def _with_db(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{db}"))


def _postgres_url(database: dict) -> str:
    auth = quote(database["USER"] or "")
    if database.get("PASSWORD"):
        auth += ":" + quote(database["PASSWORD"])
    host = f"{database['HOST'] or '127.0.0.1'}:{database['PORT'] or 5432}"
    return f"postgres://{auth}@{host}/{database['NAME']}"


@pytest.fixture
def shared_env(redis_url, tmp_path) -> dict[str, str]:
    """Environment for the worker and the probe: same database, a dedicated broker and cache."""
    import redis

    broker, cache = _with_db(redis_url, 12), _with_db(redis_url, 13)
    for url in (broker, cache):
        redis.Redis.from_url(url).flushdb()  # only these two dedicated databases
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "CELERY_BROKER_URL": broker,
        "REDIS_URL": cache,
        "CACHE_KEY_PREFIX": "job06",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "DATABASE_POOL": "false",
        "LOG_LEVEL": "INFO",
    }
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The test database (the tests are transactional: rows commit, flushed afterwards).
        env["DATABASE_URL"] = _postgres_url(settings.DATABASES["default"])
    else:
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'job06.sqlite3'}"
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=180,
        )
    return env


def probe(env: dict[str, str], *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(PROBE), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def start_worker(env: dict[str, str], log: Path, **extra: str) -> subprocess.Popen:
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "tests.catalog.crash_worker",
        "worker",
        "--pool",
        "solo",
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
        "-l",
        "info",
    ]
    return subprocess.Popen(
        command,
        cwd=ROOT,
        env={**env, **extra},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(worker: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, sig)
        worker.wait(30)


def wait_for(condition, what: str, logs: list[Path]) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.5)
    tails = "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in logs)
    pytest.fail(f"timed out waiting for {what}\n{tails}")


def active(snapshot: dict) -> list[str]:
    return [row[0] for row in snapshot["models"] if row[1]]


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_sync_leaves_the_old_catalog_and_the_rerun_converges(
    shared_env, listing, tmp_path
):
    base_url, handler = listing
    seeded = probe(shared_env, "seed", base_url)
    assert (seeded["added"], seeded["error"]) == (30, "")
    credential_id = str(seeded["credential_id"])
    before = probe(shared_env, "snapshot", credential_id)
    assert active(before) == BEFORE

    handler.ids = AFTER
    marker, first_log, second_log = (
        tmp_path / "stalled",
        tmp_path / "worker-1.log",
        tmp_path / "worker-2.log",
    )
    first = start_worker(shared_env, first_log, JOB06_STALL_MARKER=str(marker))
    try:
        task_id = probe(shared_env, "enqueue", credential_id)["task_id"]
        wait_for(marker.exists, "the worker to stall inside the sync transaction", [first_log])

        # Mid-way: 20 rows inserted, 10 deactivated, the success mark written - none committed.
        assert probe(shared_env, "snapshot", credential_id)["models"] == before["models"]
        stop(first, signal.SIGKILL)
    finally:
        stop(first)

    after_kill = probe(shared_env, "snapshot", credential_id)
    assert after_kill["models"] == before["models"]
    assert after_kill["last_sync_at"] == before["last_sync_at"]
    # The dead worker's lock is still there, owned by the task id...
    assert probe(shared_env, "lock", credential_id)["owner"] == task_id

    second = start_worker(shared_env, second_log, JOB06_VISIBILITY_TIMEOUT="1")
    try:
        # ...and the redelivered task (same id) takes it back and finishes the sync.
        wait_for(
            lambda: active(probe(shared_env, "snapshot", credential_id)) == AFTER,
            "the redelivered sync to converge",
            [first_log, second_log],
        )
        wait_for(
            lambda: (
                f"Task catalog.tasks.catalog_sync_credential_task[{task_id}] succeeded"
                in second_log.read_text()
            ),
            "the second worker to report the task",
            [second_log],
        )
    finally:
        stop(second, signal.SIGTERM)

    converged = probe(shared_env, "snapshot", credential_id)
    assert len(converged["models"]) == 50  # 10 kept inactive, never deleted
    assert sorted(set(BEFORE) - set(AFTER)) == [r[0] for r in converged["models"] if not r[1]]
    assert converged["last_sync_at"] != before["last_sync_at"]
    assert "ok" in converged["runs"]
    assert probe(shared_env, "lock", credential_id)["owner"] is None
    assert "locked" not in second_log.read_text()
    # The worker logs through settings.LOGGING: JSON lines; a task's lines carry its id.
    lines = [json.loads(line) for line in second_log.read_text().splitlines() if line[:1] == "{"]
    (done,) = [line for line in lines if f"[{task_id}] succeeded" in line["message"]]
    assert done["task_id"] == task_id


class TouchOnUnpickle:
    """Unpickling this creates a file: proof that a worker deserialized a pickle."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (Path.touch, (self.path,))


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_worker_refuses_a_pickle_message(shared_env, tmp_path, monkeypatch):
    """The app accepts JSON messages only; a pickled task is dropped unread."""
    from celery import Celery

    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # it would win over broker=
    proof, log = tmp_path / "unpickled", tmp_path / "worker.log"
    sender = Celery(broker=shared_env["CELERY_BROKER_URL"])
    sender.send_task(
        "catalog.tasks.provider_check_task", args=[TouchOnUnpickle(proof)], serializer="pickle"
    )
    worker = start_worker(shared_env, log)
    try:
        wait_for(
            lambda: "untrusted content of type pickle" in log.read_text(),
            "the worker to refuse the message",
            [log],
        )
        assert worker.poll() is None  # still serving
    finally:
        stop(worker, signal.SIGTERM)

    assert not proof.exists()
    import redis

    assert redis.Redis.from_url(shared_env["CELERY_BROKER_URL"]).llen("celery") == 0
