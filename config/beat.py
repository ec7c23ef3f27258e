"""Celery beat's scheduler, safe to start twice: it sends jobs only while it holds the deployment's
beat lock in the shared cache. The jobs are django-celery-beat's database rows (seeded from
settings.BEAT_JOBS), which operators pause and retime in the admin.

One beat runs per deployment (README, "Topology"). A second one, started by mistake or as a warm
standby, waits: it sends nothing while the first holds the lock, and takes over within
LOCK_SECONDS of the first one stopping or dying. The jobs themselves also take their own locks
(catalog/locks.py), so even two senders never run the same sync at once.
"""

import logging
import secrets
from typing import Any

from django_celery_beat.schedulers import DatabaseScheduler

from catalog.locks import lock_acquire, lock_release

logger = logging.getLogger(__name__)

BEAT_LOCK = "celery-beat"
LOCK_SECONDS = 30
# The holder refreshes the lock at least this often; a standby asks again this often.
REFRESH_SECONDS = LOCK_SECONDS / 3


class SingleBeatScheduler(DatabaseScheduler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.lock_token = secrets.token_hex(16)
        self.leading: bool | None = None  # unknown until the first tick
        super().__init__(*args, **kwargs)

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self._hold_lock():
            return REFRESH_SECONDS
        return min(super().tick(*args, **kwargs), REFRESH_SECONDS)

    def _hold_lock(self) -> bool:
        try:
            held = lock_acquire(BEAT_LOCK, timeout=LOCK_SECONDS, owner=self.lock_token) is not None
        except Exception:
            logger.warning("beat lock unavailable (cache error); sending nothing until it is back")
            held = False
        if held != self.leading:
            logger.info("beat %s", "holds the lock: sending jobs" if held else "standing by")
            self.leading = held
        return held

    def close(self) -> None:
        super().close()
        if self.leading:
            try:
                lock_release(BEAT_LOCK, self.lock_token)  # a standby takes over at once
            except Exception:
                logger.warning("beat lock not released (cache error); it expires by itself")
            self.leading = False
