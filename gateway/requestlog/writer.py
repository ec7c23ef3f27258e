"""Write-behind for the request log: one background thread per process writes rows in batches.

Two writes per request (INSERT at the start, UPDATE at the end) were about a third of the
gateway's own time per request (bench/README.md, "Gateway"). The request path now only queues
them; the writer thread (a greenlet under the gevent worker) writes what is queued every
REQUEST_LOG_FLUSH_SECONDS in one transaction. A row whose start and end are both still queued
(every request shorter than the flush interval) is written with a single INSERT.

Under the gevent worker the statements run on a real OS thread (a one-thread gevent threadpool):
a sqlite3 or psycopg call in a greenlet would stall the hub, and every in-flight request with it,
for the whole batch. The greenlet that flushes waits for that thread cooperatively; only the
batch handed over crosses threads (the queues and locks stay on the hub's thread). The thread has
its own Django connection and closes it after every batch (a pooled slot goes back to the pool).

Guarantees:
- every queued change reaches the database within about REQUEST_LOG_FLUSH_SECONDS while it is up;
- a change is never dropped because the queue is busy: past REQUEST_LOG_MAX_PENDING queued rows,
  the request that queues one more writes the batch itself (back-pressure);
- a failed write keeps its batch queued and is retried with a backoff (the queue may then grow
  past the bound, only while the database is failing); a row the database rejects as such
  (IntegrityError) is retried alone and, if it still fails, logged and dropped;
- process exit flushes the queue (atexit, and gunicorn's `worker_exit` in config/gunicorn.py);
- a process killed without exiting (SIGKILL, OOM) loses at most the last flush interval of
  queued changes; rows already written `in_progress` are finalized `aborted` by the reaper
  (`request_log_reap_stale`).

With REQUEST_LOG_WRITE_BEHIND off (the test suite), each change is written at once by the
caller through the same code.
"""

import atexit
import logging
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, connections, models, router, transaction

from config.infra.dbconnections import release_db_connections
from config.infra.gevent_patch import gevent_patched
from gateway.models import RequestLog

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0


class RequestLogWriter:
    """Queued INSERTs and UPDATEs of RequestLog rows, flushed in order by one writer."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._lock = threading.Lock()  # guards the two queues
        self._flush_lock = threading.Lock()  # one flush at a time: inserts land before updates
        self._wake = threading.Event()
        self._inserts: dict[str, RequestLog] = {}
        self._updates: dict[str, dict[str, Any]] = {}
        self._thread: threading.Thread | None = None
        self._db_thread: Any = None  # gevent's ThreadPool(1) under the gevent worker

    # ---- queueing (the request path) ------------------------------------------------------
    def insert(self, row: RequestLog) -> None:
        with self._locked():
            self._inserts[row.pk] = row
        self._queued()

    def update(self, request_id: str, fields: dict[str, Any]) -> None:
        with self._locked():
            row = self._inserts.get(request_id)
            if row is not None:  # not written yet: the one INSERT carries the final fields
                for name, value in fields.items():
                    setattr(row, name, value)
            else:
                self._updates[request_id] = {**self._updates.get(request_id, {}), **fields}
        self._queued()

    def pending(self) -> int:
        with self._locked():
            return len(self._inserts) + len(self._updates)

    def is_pending(self, request_id: str) -> bool:
        with self._locked():
            return request_id in self._inserts or request_id in self._updates

    def _locked(self) -> threading.Lock:
        if self._pid != os.getpid():  # a forked child: the parent's queue and thread are not ours
            self._reset()
        return self._lock

    def _queued(self) -> None:
        if not settings.REQUEST_LOG_WRITE_BEHIND:
            self.flush(raise_errors=True)
            return
        if self.pending() >= settings.REQUEST_LOG_MAX_PENDING:
            self.flush()  # back-pressure: this request pays for the write, nothing is dropped
            return
        self._ensure_thread()
        self._wake.set()

    # ---- writing --------------------------------------------------------------------------
    def flush(self, *, raise_errors: bool = False) -> bool:
        """Write everything queued now; True on success (a failed batch stays queued)."""
        with self._flush_lock:
            with self._locked():
                inserts, self._inserts = self._inserts, {}
                updates, self._updates = self._updates, {}
            if not inserts and not updates:
                return True
            try:
                self._write_off_hub(list(inserts.values()), updates)
            except DatabaseError:
                self._requeue(inserts, updates)
                if raise_errors:
                    raise
                logger.exception("request log write failed; %d rows kept queued", len(inserts))
                return False
            return True

    def _write_off_hub(self, inserts: list[RequestLog], updates: dict[str, dict[str, Any]]) -> None:
        """Write the batch; under gevent on the OS thread, so the hub keeps serving meanwhile."""
        if not gevent_patched():
            self._write(inserts, updates)
            return
        if self._db_thread is None:
            from gevent.threadpool import ThreadPool

            self._db_thread = ThreadPool(1)
        self._db_thread.apply(self._write_and_release, (inserts, updates))

    def _write_and_release(
        self, inserts: list[RequestLog], updates: dict[str, dict[str, Any]]
    ) -> None:
        try:
            self._write(inserts, updates)
        finally:
            release_db_connections()

    def _write(self, inserts: list[RequestLog], updates: dict[str, dict[str, Any]]) -> None:
        try:
            with transaction.atomic():
                _insert_rows(inserts)
                _update_rows(updates)
        except IntegrityError:
            if len(inserts) + len(updates) == 1:
                raise
            self._write_one_by_one(inserts, updates)

    def _write_one_by_one(
        self, inserts: list[RequestLog], updates: dict[str, dict[str, Any]]
    ) -> None:
        """After a batch was refused: write each row alone, dropping only what can never fit."""
        for row in inserts:
            try:
                with transaction.atomic():
                    _insert_rows([row])
            except IntegrityError:
                logger.exception("request log row %s rejected by the database; dropped", row.pk)
        for request_id, fields in updates.items():
            try:
                with transaction.atomic():
                    _update_rows({request_id: fields})
            except IntegrityError:
                logger.exception("request log update %s rejected; dropped", request_id)

    def _requeue(self, inserts: dict[str, RequestLog], updates: dict[str, dict[str, Any]]) -> None:
        with self._locked():
            for request_id, fields in self._updates.items():  # arrived during the failed write
                if request_id in inserts:
                    for name, value in fields.items():
                        setattr(inserts[request_id], name, value)
                else:
                    updates[request_id] = {**updates.get(request_id, {}), **fields}
            self._inserts = {**inserts, **self._inserts}
            self._updates = {k: v for k, v in updates.items() if k not in inserts}

    # ---- the background thread ------------------------------------------------------------
    def _ensure_thread(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._locked():
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(
                target=self._run, name="request-log-writer", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        backoff = 0.0
        while True:
            self._wake.wait()
            time.sleep(max(settings.REQUEST_LOG_FLUSH_SECONDS, backoff))
            self._wake.clear()
            try:
                ok = self.flush()
            except Exception:  # never let the writer die: the queue would only grow
                logger.exception("request log writer failed")
                ok = False
            finally:
                release_db_connections()  # a pooled PostgreSQL slot is not held between flushes
            if ok:
                backoff = 0.0
            else:
                backoff = min(max(backoff * 2, 0.5), MAX_BACKOFF_SECONDS)
                self._wake.set()  # retry what stayed queued


def _insert_rows(rows: list[RequestLog]) -> None:
    """One INSERT run over all the rows (executemany), their values adapted field by field.

    The ORM's bulk_create spent about two thirds of the writer's CPU preparing each field of each
    row, on the same core as the requests (bench/README.md, "What changed in this round"). Here only
    datetimes and JSON are adapted (`_adapter_for`); the other columns are plain values.
    """
    if not rows:
        return
    connection = connections[router.db_for_write(RequestLog)]
    quote = connection.ops.quote_name
    fields = RequestLog._meta.concrete_fields
    adapters = [_adapter_for(field, connection) for field in fields]
    # Identifiers come from the model's own metadata; every value is a query parameter.
    statement = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608  # nosec B608
        quote(RequestLog._meta.db_table),
        ", ".join(quote(field.column) for field in fields),
        ", ".join(["%s"] * len(fields)),
    )
    values = [
        tuple(
            adapt(getattr(row, field.attname))
            for field, adapt in zip(fields, adapters, strict=True)
        )
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(statement, values)


def _update_rows(updates: dict[str, dict[str, Any]]) -> None:
    """The queued UPDATEs, one executemany per set of columns (a finish always sets the same).

    Most rows take this path in production: a real completion outlasts the flush interval, so
    its row is written `in_progress` first and finished here.
    """
    if not updates:
        return
    connection = connections[router.db_for_write(RequestLog)]
    quote = connection.ops.quote_name
    groups: dict[tuple[str, ...], list[str]] = {}
    for request_id, values in updates.items():
        groups.setdefault(tuple(sorted(values)), []).append(request_id)
    for names, request_ids in groups.items():
        fields = [RequestLog._meta.get_field(name) for name in names]
        adapters = [_adapter_for(field, connection) for field in fields]
        # Identifiers come from the model's own metadata; every value is a query parameter.
        statement = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608  # nosec B608
            quote(RequestLog._meta.db_table),
            ", ".join(f"{quote(field.column)} = %s" for field in fields),
            quote(RequestLog._meta.pk.column),
        )
        values = [
            (
                *(
                    adapt(updates[request_id][field.name])
                    for field, adapt in zip(fields, adapters, strict=True)
                ),
                request_id,
            )
            for request_id in request_ids
        ]
        with connection.cursor() as cursor:
            cursor.executemany(statement, values)


def _adapter_for(field: models.Field, connection: Any) -> Callable[[Any], Any]:
    """How a value of this field reaches the driver: plain values as they are, datetimes by the
    backend's own adapter, anything else (JSON) through the field."""
    plain = models.CharField | models.IntegerField | models.BooleanField | models.ForeignKey
    if isinstance(field, plain):
        return _as_is
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    return lambda value: field.get_db_prep_save(value, connection)


def _as_is(value: Any) -> Any:
    return value


writer = RequestLogWriter()


@atexit.register
def _flush_at_exit() -> None:
    if writer.pending():
        writer.flush()
