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
- every value is fitted to its column before it is queued (gateway/storable.py), so what a
  request carried (a NUL, a 10,000-character field) cannot make the database refuse a row;
- every queued change reaches the database within about REQUEST_LOG_FLUSH_SECONDS while it is up;
- past REQUEST_LOG_MAX_PENDING queued rows, the request that queues one more writes the batch
  itself (back-pressure), but never while the database is failing;
- a batch refused for a reason of its own (DataError, IntegrityError, ...) is split in halves
  until only the offending change is left, which is dropped and logged with its request id; the
  others are written;
- a transient failure (OperationalError, InterfaceError: the database down, busy or locked)
  keeps what it left unwritten queued and retries with a backoff, without making requests wait;
  meanwhile the queue holds at most REQUEST_LOG_MAX_QUEUED changes: past that, new changes are
  dropped, counted (`openprovider_request_log_rows_dropped`) and logged;
- process exit (atexit, and gunicorn's `worker_exit` in config/gunicorn.py) writes the queue and
  the batch in flight, retrying for up to REQUEST_LOG_EXIT_SECONDS, then logs the request ids
  it could not write;
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
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    connections,
    models,
    router,
    transaction,
)

from config.infra.dbconnections import release_db_connections
from config.infra.gevent_patch import gevent_patched
from gateway import metrics
from gateway.models import RequestLog
from gateway.storable import make_row_storable, storable_fields, storable_request_id

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 5.0
EXIT_RETRY_MAX_SECONDS = 1.0
OVERFLOW_LOG_INTERVAL_SECONDS = 10.0
LOST_IDS_LOGGED = 20
# The database is down or busy (connection lost, pool timeout, SQLite "database is locked"):
# the batch stays queued and is retried. Any other error is the rows' own: the batch is split.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)

Updates = dict[str, dict[str, Any]]


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
        self._updates: Updates = {}
        self._thread: threading.Thread | None = None
        self._generation = object()  # a thread started before the last reset stops at its wake
        self._db_thread: Any = None  # gevent's ThreadPool(1) under the gevent worker
        self._database_up = True  # False from a transient failure until a flush succeeds
        self.overflowed = 0  # changes refused because the queue was full (this process)
        self._overflow_logged_at = -OVERFLOW_LOG_INTERVAL_SECONDS

    # ---- queueing (the request path) ------------------------------------------------------
    def insert(self, row: RequestLog) -> None:
        make_row_storable(row)
        with self._locked():
            if self._full():
                self._overflow(row.pk)
                return
            self._inserts[row.pk] = row
        self._queued()

    def update(self, request_id: str, fields: dict[str, Any]) -> None:
        request_id, fields = storable_request_id(request_id), storable_fields(fields)
        with self._locked():
            row = self._inserts.get(request_id)
            if row is not None:  # not written yet: the one INSERT carries the final fields
                for name, value in fields.items():
                    setattr(row, name, value)
            elif self._full() and request_id not in self._updates:
                self._overflow(request_id)
                return
            else:
                self._updates[request_id] = {**self._updates.get(request_id, {}), **fields}
        self._queued()

    def pending(self) -> int:
        with self._locked():
            return self._pending()

    def is_pending(self, request_id: str) -> bool:
        with self._locked():
            return request_id in self._inserts or request_id in self._updates

    def _pending(self) -> int:
        return len(self._inserts) + len(self._updates)

    def _full(self) -> bool:
        return self._pending() >= settings.REQUEST_LOG_MAX_QUEUED

    def _overflow(self, request_id: str) -> None:
        """The queue is at its memory bound (the database has been failing): drop, count, log."""
        self.overflowed += 1
        metrics.REQUEST_LOG_DROPPED.labels(reason="overflow").inc()
        now = time.monotonic()
        if now - self._overflow_logged_at >= OVERFLOW_LOG_INTERVAL_SECONDS:
            self._overflow_logged_at = now
            logger.error(
                "request log queue full (%d rows, REQUEST_LOG_MAX_QUEUED): dropped row %s; "
                "%d dropped so far by this process",
                self._pending(),
                request_id,
                self.overflowed,
            )

    def _locked(self) -> threading.Lock:
        if self._pid != os.getpid():  # a forked child: the parent's queue and thread are not ours
            self._reset()
        return self._lock

    def _queued(self) -> None:
        if not settings.REQUEST_LOG_WRITE_BEHIND:
            self.flush(raise_errors=True)
            return
        if self._database_up and self.pending() >= settings.REQUEST_LOG_MAX_PENDING:
            # Back-pressure: this request pays for the write. Never while the database is
            # failing: then the writer backs off and requests go on (the queue has its bound).
            self.flush()
            return
        self._ensure_thread()
        self._wake.set()

    # ---- writing --------------------------------------------------------------------------
    def flush(self, *, raise_errors: bool = False, timeout: float = -1) -> bool:
        """Write everything queued now; True on success. What a transient error left unwritten
        stays queued; a row the database refuses for good is dropped (logged). With `timeout`,
        gives up (False) if a batch in flight has not finished by then."""
        if not self._flush_lock.acquire(timeout=timeout):
            return False
        try:
            with self._locked():
                inserts, self._inserts = self._inserts, {}
                updates, self._updates = self._updates, {}
            if not inserts and not updates:
                return True
            left, error = self._write_off_hub(inserts, updates)
            self._database_up = error is None
            if error is None:
                return True
            self._requeue(*left)
            if raise_errors:
                raise error
            logger.error(
                "request log write failed (%s); %d rows kept queued",
                error,
                len(left[0]) + len(left[1]),
            )
            return False
        finally:
            self._flush_lock.release()

    def drain(self, seconds: float) -> bool:
        """Write everything queued, a batch in flight included, retrying until the deadline
        (process exit); then log what could not be written. True when nothing is left."""
        deadline = time.monotonic() + seconds
        pause = 0.05
        while True:
            remaining = deadline - time.monotonic()
            if self.flush(timeout=max(remaining, 0)) and not self.pending():
                return True
            if time.monotonic() + pause >= deadline:
                break
            time.sleep(pause)
            pause = min(pause * 2, EXIT_RETRY_MAX_SECONDS)
        with self._locked():
            lost = [*self._inserts, *self._updates]
        if lost:
            metrics.REQUEST_LOG_DROPPED.labels(reason="exit").inc(len(lost))
            logger.error(
                "request log: %d queued changes could not be written before exit "
                "(REQUEST_LOG_EXIT_SECONDS=%s); lost request ids include %s",
                len(lost),
                seconds,
                ", ".join(lost[:LOST_IDS_LOGGED]),
            )
        return not lost

    def _write_off_hub(
        self, inserts: dict[str, RequestLog], updates: Updates
    ) -> tuple[tuple[dict[str, RequestLog], Updates], Exception | None]:
        """Write the batch; under gevent on the OS thread, so the hub keeps serving meanwhile."""
        if not gevent_patched():
            return self._write(inserts, updates)
        if self._db_thread is None:
            from gevent.threadpool import ThreadPool

            self._db_thread = ThreadPool(1)
        return self._db_thread.apply(self._write_and_release, (inserts, updates))

    def _write_and_release(
        self, inserts: dict[str, RequestLog], updates: Updates
    ) -> tuple[tuple[dict[str, RequestLog], Updates], Exception | None]:
        try:
            return self._write(inserts, updates)
        finally:
            release_db_connections()

    def _write(
        self, inserts: dict[str, RequestLog], updates: Updates
    ) -> tuple[tuple[dict[str, RequestLog], Updates], Exception | None]:
        """Write the batch in one transaction. A part the database refuses is split in halves
        until only the offending change is left, which is dropped and logged. Returns what a
        transient error left unwritten, and that error (None when all is done)."""
        parts = [[*_changes(inserts, updates)]]
        while parts:
            part = parts.pop()
            try:
                with transaction.atomic(using=router.db_for_write(RequestLog)):
                    _insert_rows([row for _, row, _ in part if row is not None])
                    _update_rows({key: fields for key, _, fields in part if fields is not None})
            except TRANSIENT_ERRORS as error:
                unwritten = [change for rest in (part, *parts) for change in rest]
                return _split_changes(unwritten), error
            except Exception as error:  # the rows' own fault: narrow it down
                if len(part) > 1:
                    middle = len(part) // 2
                    parts += [part[middle:], part[:middle]]
                    continue
                request_id = part[0][0]
                metrics.REQUEST_LOG_DROPPED.labels(reason="refused").inc()
                logger.error(
                    "request log change for %s refused by the database (%s: %s); dropped",
                    request_id,
                    type(error).__name__,
                    error,
                )
        return ({}, {}), None

    def _requeue(self, inserts: dict[str, RequestLog], updates: Updates) -> None:
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
                target=self._run, args=(self._generation,), name="request-log-writer", daemon=True
            )
            self._thread.start()

    def _run(self, generation: object) -> None:
        backoff = 0.0
        while True:
            self._wake.wait()
            time.sleep(max(settings.REQUEST_LOG_FLUSH_SECONDS, backoff))
            if generation is not self._generation:
                return
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


Change = tuple[str, RequestLog | None, dict[str, Any] | None]  # (request id, INSERT, or UPDATE)


def _changes(inserts: dict[str, RequestLog], updates: Updates) -> Iterator[Change]:
    for request_id, row in inserts.items():
        yield request_id, row, None
    for request_id, fields in updates.items():
        yield request_id, None, fields


def _split_changes(changes: list[Change]) -> tuple[dict[str, RequestLog], Updates]:
    inserts = {key: row for key, row, _ in changes if row is not None}
    updates = {key: fields for key, row, fields in changes if fields is not None}
    return inserts, updates


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
        ", ".join(quote(_column(field)) for field in fields),
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
        fields = [_concrete_field(name) for name in names]
        adapters = [_adapter_for(field, connection) for field in fields]
        # Identifiers come from the model's own metadata; every value is a query parameter.
        statement = "UPDATE {} SET {} WHERE {} = %s".format(  # noqa: S608  # nosec B608
            quote(RequestLog._meta.db_table),
            ", ".join(f"{quote(_column(field))} = %s" for field in fields),
            quote(_column(RequestLog._meta.pk)),
        )
        params = [
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
            cursor.executemany(statement, params)


def _concrete_field(name: str) -> "models.Field[Any, Any]":
    field = RequestLog._meta.get_field(name)
    if not isinstance(field, models.Field):
        raise LookupError(f"{name} is a relation, not a column")
    return field


def _column(field: "models.Field[Any, Any]") -> str:
    if field.column is None:  # only fields without a column of their own (none here)
        raise LookupError(f"{field.name} has no column")
    return field.column


def _adapter_for(field: "models.Field[Any, Any]", connection: Any) -> Callable[[Any], Any]:
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
    writer.drain(settings.REQUEST_LOG_EXIT_SECONDS)  # also waits for a batch in flight
