"""config/gunicorn.py: the open-files limit, the SQLite anchor and the gevent patch check."""

import gc
import importlib.util
import resource
import sqlite3
from pathlib import Path

import pytest

CONFIG = Path(__file__).resolve().parent.parent / "config" / "gunicorn.py"


@pytest.fixture
def gunicorn_conf(monkeypatch):
    monkeypatch.setenv("GUNICORN_WORKER_CONNECTIONS", "100")
    spec = importlib.util.spec_from_file_location("gunicorn_conf_under_test", CONFIG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def restore_gc():
    """post_worker_init tunes the GC of its process: give the test process its own back."""
    threshold = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*threshold)


class FakeLog:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def error(self, message: str, *args: object) -> None:
        self.errors.append(message % args)

    def warning(self, message: str, *args: object) -> None:
        self.warnings.append(message % args)


class FakeWorker:
    def __init__(self) -> None:
        self.log = FakeLog()


def test_the_open_files_limit_covers_two_sockets_per_connection(gunicorn_conf):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)

    wanted = 100 * 2 + 256
    assert soft == resource.RLIM_INFINITY or soft >= min(wanted, hard)


def test_an_unpatched_gevent_worker_is_reported(gunicorn_conf, restore_gc):
    # given this test process, which gevent never monkey-patched
    worker = FakeWorker()

    # when the hook runs as it would in a worker
    gunicorn_conf.post_worker_init(worker)

    # then the log names what is missing
    assert len(worker.log.errors) == 1
    assert "socket" in worker.log.errors[0]
    assert "threading" in worker.log.errors[0]


def test_the_sqlite_anchor_keeps_the_wal_when_other_connections_close(gunicorn_conf, tmp_path):
    # given a WAL database and the worker's anchor connection
    path = tmp_path / "db.sqlite3"
    setup = sqlite3.connect(path)
    setup.execute("PRAGMA journal_mode=WAL")
    setup.execute("CREATE TABLE t (x)")
    setup.close()
    gunicorn_conf._hold_sqlite_open({"ENGINE": "django.db.backends.sqlite3", "NAME": path})

    # when a request's connection writes and closes
    request = sqlite3.connect(path)
    request.execute("INSERT INTO t VALUES (1)")
    request.commit()
    request.close()

    # then the WAL was not checkpointed away and deleted (no fsync-heavy close)
    assert Path(f"{path}-wal").exists()
    assert gunicorn_conf._sqlite_anchor is not None
    gunicorn_conf._sqlite_anchor.close()


def test_the_worker_freezes_what_the_app_loaded_and_collects_less_often(
    gunicorn_conf, restore_gc, monkeypatch
):
    # given a worker whose app is loaded, with a GC threshold from the environment
    monkeypatch.setattr(gunicorn_conf, "GC_THRESHOLD", (40000, 15, 90))
    assert gc.get_freeze_count() == 0

    # when the worker has initialized
    gunicorn_conf.post_worker_init(FakeWorker())

    # then the objects loaded so far are out of the GC's scans
    assert gc.get_freeze_count() > 10_000
    assert gc.get_threshold() == (40000, 15, 90)
