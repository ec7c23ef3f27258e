"""gunicorn settings: gevent workers hold thousands of open SSE streams per process.

PORT, HOST and WEB_CONCURRENCY (worker processes) come from the environment;
GUNICORN_WORKER_CLASS, GUNICORN_WORKER_CONNECTIONS and GUNICORN_ACCESS_LOG tune the rest, and
the control socket (`gunicornc`) is VAR_DIR/gunicorn.ctl, one per project.
gunicorn's own log lines are redacted like the app's (`RedactingLogger`) and its own error
answers to malformed HTTP are the JSON envelope (`write_json_error`; not with gevent_pywsgi,
whose server writes its own).

Why gevent: a stream costs greenlets and buffers (~100 KiB, bench/README.md "Gateway"), not a
thread, so one process holds thousands of slow streams (3,000 measured); the app stays plain
sync Django + `requests`.
gunicorn's gevent worker monkey-patches (socket, ssl, threading, select, time...) in the
worker's init, *before* it imports the app, so Django, `requests`/urllib3 and psycopg load
already patched. That is why `preload_app` must stay off: preloading would import the app in the
unpatched master. `post_worker_init` below verifies the patching and logs an error if it did
not happen.

Databases under gevent: CONN_MAX_AGE is 0 (config/settings.py), so a connection lives for one
request (or less: the gateway closes it before streaming) and greenlets never share one.
psycopg >= 3.1.14 cooperates with gevent by itself (no psycogreen); config/settings.py puts a
psycopg pool in front of PostgreSQL (one connection per in-flight greenlet would exceed
max_connections) and config/infra/redis_pool.py shares one bounded Redis pool per process. SQLite
works (each greenlet gets its own connection), but its calls, lock waits included, block the
whole worker while they run: fine for one machine, use PostgreSQL for real traffic.
"""

import gc
import hashlib
import json
import os
import resource
import socket
import tempfile
from pathlib import Path

from gunicorn import util as gunicorn_util
from gunicorn.config import Config
from gunicorn.glogging import Logger

# All interfaces by default (bandit B104 reviewed): containers and platform routers connect from
# outside; HOST=127.0.0.1 narrows it behind a local proxy.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104  # nosec B104
bind = f"{os.environ.get('HOST', ALL_INTERFACES)}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = os.environ.get("GUNICORN_WORKER_CLASS", "gevent")
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "4000"))
preload_app = False  # the gevent worker must patch before the app is imported
backlog = 4096  # a burst of new streams waits in the kernel queue instead of being refused
# With async workers `timeout` only bounds a worker that stops answering the arbiter, never
# the length of a stream.
timeout = 30
graceful_timeout = 30
keepalive = 5
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None

# gunicorn's control socket (`gunicornc`) defaults to one path per user ($XDG_RUNTIME_DIR or
# ~/.gunicorn): a second instance on the host would take it over and remove it when it stops.
# Each project's runtime folder (VAR_DIR, as in config/settings.py) holds its own instead.
MAX_SOCKET_PATH = 100  # the kernel's limit is 107 bytes


def control_socket_path(var_dir: Path) -> str:
    """gunicorn.ctl in VAR_DIR, or a short path in the temp dir when that one is too long."""
    path = var_dir / "gunicorn.ctl"
    if len(str(path)) <= MAX_SOCKET_PATH:
        return str(path)
    digest = hashlib.sha256(str(var_dir).encode()).hexdigest()[:16]
    return str(Path(tempfile.gettempdir()) / f"openprovider-{digest}.ctl")


VAR_DIR = Path(__file__).resolve().parent.parent / os.environ.get("VAR_DIR", "var")
control_socket = control_socket_path(VAR_DIR)


class RedactingLogger(Logger):
    """gunicorn's logger, with the app's redaction (config/infra/logfilters.py) on its error log
    and its access log: an `opk_live_` key in a URL, a bearer header or any key-shaped text in a
    request line gunicorn refused is masked, whatever `access_log_format` prints."""

    def setup(self, cfg: Config) -> None:
        super().setup(cfg)
        from config.infra.logfilters import RedactSecretsFilter

        for log in (self.error_log, self.access_log):
            if not any(isinstance(f, RedactSecretsFilter) for f in log.filters):
                log.addFilter(RedactSecretsFilter())


logger_class = RedactingLogger

# Every open stream holds two sockets (client and upstream) plus a little slack per worker.
FILES_PER_CONNECTION = 2
FILES_SLACK = 256


def _raise_open_files_limit() -> None:
    """Lift the soft RLIMIT_NOFILE (often 1024) towards what worker_connections needs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = worker_connections * FILES_PER_CONNECTION + FILES_SLACK
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


_raise_open_files_limit()


_sqlite_anchor = None


def _hold_sqlite_open(database: dict | None = None) -> None:
    """Keep one idle SQLite connection per worker for its lifetime.

    With CONN_MAX_AGE=0 every request opens and closes its connections; when the *last*
    connection to a WAL database closes, SQLite checkpoints the WAL and deletes it (fsyncs
    included), which made each request milliseconds slower. This idle connection, never used
    for queries, keeps the WAL open so closes are cheap; checkpoints still run automatically.
    """
    global _sqlite_anchor
    if database is None:
        from django.conf import settings

        database = settings.DATABASES["default"]
    if database["ENGINE"] == "django.db.backends.sqlite3" and _sqlite_anchor is None:
        import sqlite3

        try:
            anchor = sqlite3.connect(str(database["NAME"]), check_same_thread=False)
            # A read opens the WAL index; only then does this connection count as open.
            anchor.execute("SELECT count(*) FROM sqlite_master").fetchall()
        except sqlite3.Error:
            return  # only an optimisation; the first request reports a real problem
        _sqlite_anchor = anchor


# Python's cyclic GC scans every tracked object of a generation when it runs. With Django loaded
# and a thousand streams in flight that is hundreds of thousands of objects, often: it slowed
# the time to first token of scenario 3 in bench/run.py (bench/README.md, "What changed in this
# round").
# gen0 collects after this many net allocations instead of 700; older generations as before.
GC_THRESHOLD = tuple(int(n) for n in os.environ.get("WEB_GC_THRESHOLD", "50000,20,100").split(","))


def _settle_garbage_collector() -> None:
    """Load every URL pattern and view now, then keep what is loaded out of GC scans."""
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018  # imports the views and what they use
    gc.collect()
    gc.freeze()  # what the app loaded lives as long as the worker: never scan it again
    gc.set_threshold(*GC_THRESHOLD)


ERROR_MESSAGE_CHARS = 200


def write_json_error(sock: socket.socket, status_int: int, reason: str, mesg: str) -> None:
    """gunicorn's own error answer (malformed HTTP framing: a bad request line, header or chunk,
    before any view runs) as the /v1 JSON envelope instead of an HTML page.

    gunicorn has no hook for these answers: every worker class but gevent_pywsgi writes them
    through `gunicorn.util.write_error`, which `post_worker_init` replaces with this. The path
    may not even have been read, so every such answer is JSON; nothing a browser sends gets here.
    """
    from config.infra.redaction import redact
    from gateway.api.errors import TYPE_BY_STATUS, envelope

    message = redact(f"{reason}: {mesg}" if mesg else reason)[:ERROR_MESSAGE_CHARS]
    code = reason.lower().replace(" ", "_")
    error_type = TYPE_BY_STATUS.get(
        status_int, "api_error" if status_int >= 500 else "invalid_request_error"
    )
    body = json.dumps(envelope(message, type=error_type, code=code)).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    gunicorn_util.write_nonblock(sock, head.encode("latin-1") + body)


def post_worker_init(worker: object) -> None:
    """Hold SQLite open, settle the GC, answer framing errors with JSON; fail loudly in the log
    if gevent did not patch."""
    _hold_sqlite_open()
    _settle_garbage_collector()
    gunicorn_util.write_error = write_json_error
    if "gevent" not in worker_class:
        return
    from gevent import monkey

    missing = [
        name
        for name in ("socket", "ssl", "threading", "select", "time")
        if not monkey.is_module_patched(name)
    ]
    if missing:
        worker.log.error(  # type: ignore[attr-defined]
            "gevent worker is not monkey-patched for %s: streams will block the worker",
            ", ".join(missing),
        )
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < worker_connections * FILES_PER_CONNECTION:
        worker.log.warning(  # type: ignore[attr-defined]
            "open-files limit %s is below %s x %s worker connections; raise `ulimit -n`",
            soft,
            FILES_PER_CONNECTION,
            worker_connections,
        )


def child_exit(server: object, worker: object) -> None:
    """With PROMETHEUS_MULTIPROC_DIR set, drop a dead worker's files (see config.infra.metrics)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined]


def worker_exit(server: object, worker: object) -> None:
    """Write the request-log rows still queued (gateway.requestlog.writer) before the worker goes,
    retrying for up to REQUEST_LOG_EXIT_SECONDS (keep it below graceful_timeout)."""
    try:
        from gateway.requestlog.services import request_log_drain
    except Exception:  # the app never loaded (a failed boot): nothing was queued
        return
    request_log_drain()
