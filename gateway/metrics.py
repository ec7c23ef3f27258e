"""Prometheus metrics, recorded at a few choke points and served at `/metrics` to operators.

Recorded from: the request-log finalize (`gateway.requestlog.request_log_finish`: every /v1 and
console request ends there exactly once), the start of a route cooldown
(`gateway.cooldowns.route_cool_down`) and the end of each credential's catalog sync and status
check (`catalog.services`), and the request-log writer's dropped changes (`gateway.logwriter`).

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
from collections.abc import Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.conf import settings
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

if TYPE_CHECKING:
    from .requestlog import LogOutcome

MAX_LABEL_VALUES = 100
OTHER = "other"
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, float("inf"))

# URL prefixes -> route kind; the first match wins.
ROUTE_KINDS = (
    ("/v1/chat/completions", "chat"),
    ("/v1/images/generations", "images"),
    ("/v1/images/analyze", "image_analyze"),
    ("/v1/audio/speech", "speech"),
    ("/v1/", "api_other"),
    ("/chat/", "console_chat"),
    ("/playground/image", "console_images"),
    ("/playground/analyze", "console_image_analyze"),
    ("/playground/speech", "console_speech"),
)
# The current request's route kind, set by gateway.middleware.RequestIdMiddleware.
current_route: ContextVar[str] = ContextVar("current_route", default=OTHER)

REQUESTS = Counter(
    "openprovider_requests",
    "Finished gateway requests (one per request-log row).",
    ["route", "status", "status_class", "provider", "model"],
)
ERRORS = Counter(
    "openprovider_request_errors",
    "Finished gateway requests that ended with an error code.",
    ["route", "code"],
)
LATENCY = Histogram(
    "openprovider_request_duration_seconds",
    "Time from the start of a gateway request to its request-log finalize.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
FIRST_TOKEN = Histogram(
    "openprovider_time_to_first_token_seconds",
    "Time to the first streamed token, for streams that produced one.",
    ["route"],
    buckets=LATENCY_BUCKETS,
)
UPSTREAM_ATTEMPTS = Counter(
    "openprovider_upstream_attempts",
    "Upstream calls made for gateway requests, by outcome (ok or the failure kind).",
    ["route", "outcome"],
)
FALLBACKS = Counter(
    "openprovider_fallbacks",
    "Upstream attempts made after an earlier attempt of the same request failed.",
    ["route"],
)
COOLDOWNS = Counter(
    "openprovider_route_cooldowns",
    "Route cooldowns started (a route is one model through one credential).",
    ["reason"],
)
CATALOG_SYNCS = Counter(
    "openprovider_catalog_syncs",
    "Per-credential catalog syncs finished, by provider and result (ok or the error kind).",
    ["provider", "result"],
)
CATALOG_MODELS_CHANGED = Counter(
    "openprovider_catalog_models_changed",
    "Catalog models added, removed (deactivated) or changed by syncs.",
    ["provider", "change"],
)
REQUEST_LOG_DROPPED = Counter(
    "openprovider_request_log_rows_dropped",
    "Request-log changes never written: refused by the database, queue full (overflow), or "
    "still queued when the process exited (exit).",
    ["reason"],
)
STATUS_CHECKS = Counter(
    "openprovider_status_checks",
    "Provider status checks finished, by provider and resulting state.",
    ["provider", "state"],
)


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


def provider_label(slug: str) -> str:
    from providers.registry import PROVIDERS

    if not slug:
        return "none"
    return slug if slug in PROVIDERS else OTHER


def route_kind(path: str) -> str:
    for prefix, kind in ROUTE_KINDS:
        if path.startswith(prefix):
            return kind
    return OTHER


def status_class(http_status: int | None) -> str:
    return f"{http_status // 100}xx" if http_status else "none"


def record_request(outcome: "LogOutcome") -> None:
    """One finished request (called once per request-log row; never raises)."""
    route = current_route.get()
    try:
        REQUESTS.labels(
            route=route,
            status=outcome.status,
            status_class=status_class(outcome.http_status),
            provider=provider_label(outcome.provider_slug),
            model=model_label(_model_name(outcome)),
        ).inc()
        if outcome.error_code:
            ERRORS.labels(route=route, code=code_label(outcome.error_code)).inc()
        if outcome.latency_ms is not None:
            LATENCY.labels(route=route).observe(outcome.latency_ms / 1000)
        if outcome.ttft_ms is not None:
            FIRST_TOKEN.labels(route=route).observe(outcome.ttft_ms / 1000)
        for attempt in outcome.attempts:
            outcome_kind = kind_label(str(attempt.get("status") or "unknown"))
            UPSTREAM_ATTEMPTS.labels(route=route, outcome=outcome_kind).inc()
        if len(outcome.attempts) > 1:
            FALLBACKS.labels(route=route).inc(len(outcome.attempts) - 1)
    except Exception:  # metrics must never fail a request
        return


def _model_name(outcome: "LogOutcome") -> str:
    """provider slug / upstream id: a public id starts with the credential's own name instead."""
    if not outcome.served_model:
        return ""
    upstream_id = outcome.served_model.split("/", 1)[-1]
    return f"{outcome.provider_slug or OTHER}/{upstream_id}"


def record_cooldown(reason: str) -> None:
    COOLDOWNS.labels(reason=kind_label(reason or "unknown")).inc()


def record_sync(provider: str, *, error_kind: str, added: int, removed: int, changed: int) -> None:
    label = provider_label(provider)
    result = kind_label(error_kind) if error_kind else "ok"
    CATALOG_SYNCS.labels(provider=label, result=result).inc()
    for change, count in (("added", added), ("removed", removed), ("changed", changed)):
        if count:
            CATALOG_MODELS_CHANGED.labels(provider=label, change=change).inc(count)


def record_check(provider: str, state: str) -> None:
    STATUS_CHECKS.labels(provider=provider_label(provider), state=kind_label(state)).inc()


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


def metric_names() -> Iterable[str]:
    """The metric families defined here (for docs and tests)."""
    return [
        metric._name
        for metric in (
            REQUESTS,
            ERRORS,
            LATENCY,
            FIRST_TOKEN,
            UPSTREAM_ATTEMPTS,
            FALLBACKS,
            COOLDOWNS,
            CATALOG_SYNCS,
            CATALOG_MODELS_CHANGED,
            STATUS_CHECKS,
        )
    ]
