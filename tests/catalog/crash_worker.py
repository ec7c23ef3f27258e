"""The Celery app of the worker-crash test: the real app, optionally stalled mid-sync.

With JOB06_STALL_MARKER set, the first catalog sync stops *inside* its transaction, after every
upsert and the success mark, writes the marker file and sleeps, so the test can kill the worker
there. JOB06_VISIBILITY_TIMEOUT sets how old an unacknowledged message must be before this
worker puts it back on the queue (the Redis transport's crash recovery).
"""

import os
import time
from pathlib import Path

from celery.signals import task_prerun

from config.celery import app

app.conf.broker_transport_options = {
    "visibility_timeout": float(os.environ.get("JOB06_VISIBILITY_TIMEOUT", "3600")),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}


@task_prerun.connect
def _stall_the_sync_mid_transaction(**_: object) -> None:
    marker = os.environ.get("JOB06_STALL_MARKER")
    if not marker:
        return
    from catalog import services

    if getattr(services._record_success, "stalls", False):
        return
    record_success = services._record_success

    def record_then_stall(credential, now):  # type: ignore[no-untyped-def]
        record_success(credential, now)
        Path(marker).write_text(str(os.getpid()))
        time.sleep(600)

    record_then_stall.stalls = True  # type: ignore[attr-defined]
    services._record_success = record_then_stall


__all__ = ["app"]
