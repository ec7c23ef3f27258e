"""The request log's write-behind (gateway/requestlog/writer.py): batched, never losing a row."""

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from django.db import OperationalError

from gateway.models import RequestLog
from gateway.requestlog import writer as logwriter
from gateway.requestlog.services import (
    LogOutcome,
    request_log_finish,
    request_log_flush,
    request_log_get,
    request_log_start,
)
from gateway.requestlog.writer import writer

ROOT = Path(__file__).resolve().parents[2]
DONE = LogOutcome(status="success", http_status=200, served_model="m/x", provider="m")


def start(workspace, request_id: str, *, streamed: bool = False) -> None:
    request_log_start(
        request_id=request_id,
        workspace=workspace,
        api_key=None,
        endpoint="chat/completions",
        requested_model="m/x",
        streamed=streamed,
    )


def wait_for(condition, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


@pytest.mark.django_db(transaction=True)
def test_the_background_thread_writes_one_finalized_row_per_request(workspace, write_behind):
    for i in range(20):
        start(workspace, f"gen-bg-{i}")
        request_log_finish(f"gen-bg-{i}", DONE)

    assert wait_for(lambda: RequestLog.objects.filter(status="success").count() == 20)
    assert RequestLog.objects.count() == 20
    assert writer.pending() == 0


@pytest.mark.django_db(transaction=True)
def test_a_start_and_end_queued_together_are_one_insert(workspace, write_behind, settings):
    settings.REQUEST_LOG_FLUSH_SECONDS = 60  # only the explicit flush below writes
    start(workspace, "gen-merged")
    request_log_finish("gen-merged", DONE)

    assert writer.pending() == 1
    assert request_log_flush()
    row = RequestLog.objects.get()
    assert (row.status, row.served_model) == ("success", "m/x")
    assert row.created_at <= row.finished_at


@pytest.mark.django_db(transaction=True)
def test_an_end_after_the_start_was_written_updates_the_row(workspace, write_behind, settings):
    settings.REQUEST_LOG_FLUSH_SECONDS = 60
    start(workspace, "gen-long", streamed=True)
    assert request_log_flush()
    assert RequestLog.objects.get().status == "in_progress"

    request_log_finish("gen-long", DONE)
    assert request_log_flush()

    assert RequestLog.objects.get().status == "success"


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("start_written_first", [False, True], ids=["one-insert", "insert-update"])
def test_every_column_is_stored_as_the_orm_would_store_it(
    workspace, created_key, write_behind, start_written_first
):
    # given a finished streamed request with every kind of value: text, FK, bool, JSON, ints,
    # NULLs and two aware datetimes; its start written alone first (a long request) or not
    request_log_start(
        request_id="gen-columns",
        workspace=workspace,
        api_key=created_key.api_key,
        endpoint="chat/completions",
        requested_model="openprovider/auto-free",
        streamed=True,
        source="web",
    )
    if start_written_first:
        assert request_log_flush()
        assert RequestLog.objects.get(pk="gen-columns").status == "in_progress"
    attempts = [{"model": "groq/llama", "status": "rate_limited", "ms": 12}, {"status": "ok"}]
    outcome = LogOutcome(
        status="success",
        http_status=200,
        served_model="groq/llama",
        provider="Groq ü",
        attempts=attempts,
        latency_ms=840,
        ttft_ms=None,
        usage={"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
    )
    request_log_finish("gen-columns", outcome)

    # when the writer writes the end (with the start in one INSERT, or as an UPDATE)
    assert request_log_flush()

    # then reading it back through the ORM gives the very values
    row = RequestLog.objects.get(pk="gen-columns")
    assert (row.workspace_id, row.api_key_id) == (workspace.pk, created_key.api_key.pk)
    assert (row.source, row.endpoint, row.streamed) == ("web", "chat/completions", True)
    assert (row.requested_model, row.served_model, row.provider) == (
        "openprovider/auto-free",
        "groq/llama",
        "Groq ü",
    )
    assert (row.status, row.http_status, row.error_code) == ("success", 200, "")
    assert row.attempts == attempts
    assert (row.latency_ms, row.ttft_ms) == (840, None)
    assert (row.prompt_tokens, row.completion_tokens, row.total_tokens) == (9, 3, 12)
    assert row.created_at.tzinfo is not None
    assert row.created_at <= row.finished_at
    assert RequestLog.objects.filter(created_at__lte=row.finished_at, pk="gen-columns").exists()


@pytest.mark.django_db(transaction=True)
def test_a_failed_write_keeps_the_rows_queued_until_the_database_is_back(
    workspace, write_behind, settings, monkeypatch
):
    settings.REQUEST_LOG_FLUSH_SECONDS = 60
    real = logwriter._insert_rows

    def down(*args, **kwargs):
        raise OperationalError("database is down")

    monkeypatch.setattr(logwriter, "_insert_rows", down)
    start(workspace, "gen-retry")
    assert not request_log_flush()
    request_log_finish("gen-retry", DONE)  # arrives while the row is still queued

    monkeypatch.setattr(logwriter, "_insert_rows", real)
    assert request_log_flush()
    assert RequestLog.objects.get().status == "success"


@pytest.mark.django_db(transaction=True)
def test_a_full_queue_makes_the_request_write_instead_of_dropping(
    workspace, write_behind, settings
):
    settings.REQUEST_LOG_FLUSH_SECONDS = 60
    settings.REQUEST_LOG_MAX_PENDING = 3
    for i in range(3):
        start(workspace, f"gen-full-{i}")

    assert RequestLog.objects.count() == 3
    assert writer.pending() == 0


@pytest.mark.django_db(transaction=True)
def test_generation_lookup_writes_a_queued_row_first(workspace, write_behind, settings):
    settings.REQUEST_LOG_FLUSH_SECONDS = 60
    start(workspace, "gen-lookup")
    request_log_finish("gen-lookup", DONE)

    log = request_log_get(workspace=workspace, request_id="gen-lookup")

    assert log is not None
    assert log.status == "success"


@pytest.mark.django_db(transaction=True)
def test_a_row_the_database_rejects_does_not_block_the_others(workspace, write_behind, settings):
    settings.REQUEST_LOG_FLUSH_SECONDS = 60
    RequestLog.objects.create(id="gen-dup", workspace=workspace, endpoint="chat/completions")
    start(workspace, "gen-dup")  # the same id again: the INSERT can never succeed
    start(workspace, "gen-ok")

    assert request_log_flush()
    assert set(RequestLog.objects.values_list("id", flat=True)) == {"gen-dup", "gen-ok"}
    assert writer.pending() == 0


# A fresh process on its own SQLite file, with the writer in production mode; {flush} is
# REQUEST_LOG_FLUSH_SECONDS. The scripts below continue from here.
SCRIPT_PRELUDE = """
import os, sys
sys.path.insert(0, {root!r})
os.environ.update(
    DJANGO_SETTINGS_MODULE="tests.settings",
    DATABASE_URL="sqlite:///{db}",
    REDIS_URL="",
    REQUEST_LOG_WRITE_BEHIND="true",
    REQUEST_LOG_FLUSH_SECONDS="{flush}",
)
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from accounts.models import Workspace
from gateway.requestlog.writer import writer
from gateway.requestlog.services import LogOutcome, request_log_finish, request_log_start
"""


def run_script(db, body: str, *, flush: str, before: str = "") -> subprocess.CompletedProcess:
    """Run `before` (e.g. gevent's patching), the prelude, then `body`; the process must exit 0."""
    script = before + SCRIPT_PRELUDE.format(root=str(ROOT), db=db, flush=flush) + body
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done


def rows_by_status(db) -> dict[str, int]:
    import sqlite3

    with sqlite3.connect(db) as connection:
        return dict(
            connection.execute("SELECT status, count(*) FROM gateway_requestlog GROUP BY 1")
        )


EXIT_SCRIPT = textwrap.dedent(
    """
    workspace = Workspace.objects.create(name="exit")
    for i in range(40):
        request_log_start(request_id=f"gen-exit-{i}", workspace=workspace, api_key=None,
                          endpoint="chat/completions", requested_model="m/x", streamed=True)
        if i % 2 == 0:
            request_log_finish(f"gen-exit-{i}", LogOutcome(status="success", http_status=200))
    print("pending", writer.pending(), flush=True)
    sys.exit(0)
    """
)


def test_rows_still_queued_at_process_exit_are_written(tmp_path):
    db = tmp_path / "exit.sqlite3"

    done = run_script(db, EXIT_SCRIPT, flush="3600")

    assert "pending 40" in done.stdout  # nothing was written before the exit
    assert rows_by_status(db) == {"success": 20, "in_progress": 20}


IN_FLIGHT_AT_EXIT_SCRIPT = textwrap.dedent(
    """
    import atexit, threading
    entered, release = threading.Event(), threading.Event()
    real_write = writer._write

    def held_write(inserts, updates):  # the background batch, held until the process exits
        entered.set()
        release.wait()
        return real_write(inserts, updates)

    writer._write = held_write
    workspace = Workspace.objects.create(name="in-flight")
    for i in range(40):
        request_log_start(request_id=f"gen-flight-{i}", workspace=workspace, api_key=None,
                          endpoint="chat/completions", requested_model="m/x", streamed=True)
    assert entered.wait(60)
    print("queued", writer.pending(), flush=True)  # 0: all 40 are in the writer's hands
    atexit.register(release.set)  # runs before the writer's own exit hook (registered earlier)
    sys.exit(0)
    """
)


def test_a_batch_in_flight_at_process_exit_is_finished_before_the_exit(tmp_path):
    db = tmp_path / "in-flight.sqlite3"

    done = run_script(db, IN_FLIGHT_AT_EXIT_SCRIPT, flush="0.01")

    assert "queued 0" in done.stdout
    assert rows_by_status(db) == {"in_progress": 40}


LOCKED_AT_EXIT_SCRIPT = textwrap.dedent(
    """
    from django.db import OperationalError
    from gateway.requestlog import writer as logwriter
    real_insert, refusals = logwriter._insert_rows, [{refusals}]

    def locked_for_a_while(rows):
        if refusals[0]:
            refusals[0] -= 1
            raise OperationalError("database is locked")
        real_insert(rows)

    logwriter._insert_rows = locked_for_a_while
    workspace = Workspace.objects.create(name="locked")
    for i in range(30):
        request_log_start(request_id=f"gen-locked-{{i}}", workspace=workspace, api_key=None,
                          endpoint="chat/completions", requested_model="m/x", streamed=True)
    sys.exit(0)
    """
)


def test_exit_flushing_retries_while_the_database_is_locked(tmp_path):
    db = tmp_path / "locked.sqlite3"

    run_script(db, LOCKED_AT_EXIT_SCRIPT.format(refusals=3), flush="3600")

    assert rows_by_status(db) == {"in_progress": 30}


def test_exit_flushing_reports_what_it_could_not_write_by_its_deadline(tmp_path):
    db = tmp_path / "lost.sqlite3"
    deadline = "import os\nos.environ['REQUEST_LOG_EXIT_SECONDS'] = '0.3'\n"

    done = run_script(
        db, LOCKED_AT_EXIT_SCRIPT.format(refusals=10**9), flush="3600", before=deadline
    )

    assert rows_by_status(db) == {}
    assert "30 queued changes could not be written before exit" in done.stderr
    assert "gen-locked-0" in done.stderr


def test_the_gunicorn_worker_exit_hook_flushes_the_request_log(monkeypatch):
    import config.gunicorn as gunicorn_config

    flushed = []
    monkeypatch.setattr("gateway.requestlog.services.request_log_drain", lambda: flushed.append(1))

    gunicorn_config.worker_exit(None, None)

    assert flushed == [1]


PATCH_GEVENT = "from gevent import monkey\nmonkey.patch_all()\n"
GEVENT_SCRIPT = textwrap.dedent(
    """
    import time
    import gevent
    from gevent import monkey

    native_ident = monkey.get_original("_thread", "get_ident")
    blocking_sleep = monkey.get_original("time", "sleep")
    hub_thread = native_ident()
    writes = []
    real_write = writer._write

    def slow_write(inserts, updates):
        writes.append((native_ident(), len(inserts)))
        blocking_sleep(0.3)  # a C call that does not yield, like sqlite3 or psycopg
        real_write(inserts, updates)

    writer._write = slow_write
    ticks = []

    def ticker():
        while True:
            ticks.append(time.monotonic())
            gevent.sleep(0.01)

    workspace = Workspace.objects.create(name="gevent")
    tick = gevent.spawn(ticker)
    for i in range(10):
        request_log_start(request_id=f"gen-gevent-{i}", workspace=workspace, api_key=None,
                          endpoint="chat/completions", requested_model="m/x", streamed=False)
        request_log_finish(f"gen-gevent-{i}", LogOutcome(status="success", http_status=200))
    while writer.pending() or not writes:
        gevent.sleep(0.05)
    gevent.sleep(0.5)
    tick.kill()
    gaps = [later - earlier for earlier, later in zip(ticks, ticks[1:])]
    print("longest tick gap ms", round(max(gaps) * 1000), flush=True)
    print("writes", len(writes), flush=True)
    print("on hub thread", any(t == hub_thread for t, _ in writes), flush=True)
    from gateway.models import RequestLog
    print("rows", RequestLog.objects.filter(status="success").count(), flush=True)
    request_log_start(request_id="gen-gevent-last", workspace=workspace, api_key=None,
                      endpoint="chat/completions", requested_model="m/x", streamed=True)
    """
)


def test_under_gevent_the_write_runs_on_an_os_thread_and_the_hub_keeps_running(tmp_path):
    db = tmp_path / "gevent.sqlite3"

    done = run_script(db, GEVENT_SCRIPT, flush="0.05", before=PATCH_GEVENT)

    lines = dict(line.rsplit(" ", 1) for line in done.stdout.splitlines() if " " in line)
    assert int(lines["longest tick gap ms"]) < 150, done.stdout  # not stalled by the 300 ms write
    assert int(lines["writes"]) >= 1
    assert lines["on hub thread"] == "False"  # every batch ran on another OS thread
    assert lines["rows"] == "10"
    # the row queued just before exit was written too
    assert rows_by_status(db) == {"success": 10, "in_progress": 1}
