"""Prometheus plumbing shared by the apps: bounded label values, the exposition served at
`/metrics` and its token check. Each app defines its own metrics (gateway.metrics for requests
and cooldowns, catalog.metrics for syncs and status checks).

Label values are bounded so a catalog of 10,000 models cannot blow up the series count: route
kinds and statuses are fixed sets, providers are registry slugs, and models and error codes keep
their own value only for the first MAX_LABEL_VALUES distinct values a process sees (then
"other"). Workspace, key and credential names are never labels.

Several processes (gunicorn workers, Celery workers): set PROMETHEUS_MULTIPROC_DIR to an empty
directory shared by every process of one host *before* they start (wipe it on each deploy).
prometheus_client then writes each process's values to files there and `/metrics` adds them up,
so any worker answers with the whole host's counts, sync results from Celery included.
config/gunicorn.py marks a dead worker's files in `child_exit`. Without the variable each
process has its own registry (fine for `runserver` or one worker).
"""

import hmac
import os
import threading

from django.conf import settings
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
)

MAX_LABEL_VALUES = 100
OTHER = "other"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, float("inf"))


class BoundedLabel:
    """Keeps the first `limit` distinct values of a label; later new values become "other"."""

    def __init__(self, limit: int = MAX_LABEL_VALUES) -> None:
        self.limit = limit
        self.seen: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, value: str) -> str:
        if not value:
            return "none"
        if value in self.seen:
            return value
        with self.lock:
            if len(self.seen) < self.limit:
                self.seen.add(value)
                return value
        return OTHER


model_label = BoundedLabel()
code_label = BoundedLabel()
kind_label = BoundedLabel(limit=40)


def multiprocess_dir() -> str:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR", "")


def exposition() -> tuple[bytes, str]:
    """The text exposition of this process, or of every process sharing the multiprocess dir."""
    if multiprocess_dir():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def metrics_token_configured() -> bool:
    return bool(settings.OPENPROVIDER_METRICS_TOKEN)


def token_matches(header: str) -> bool:
    """True when `Authorization: Bearer <token>` carries the configured metrics token."""
    token = settings.OPENPROVIDER_METRICS_TOKEN
    scheme, _, presented = header.partition(" ")
    if not token or scheme.lower() != "bearer" or not presented:
        return False
    return hmac.compare_digest(presented.strip().encode(), token.encode())
