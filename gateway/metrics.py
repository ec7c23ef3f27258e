"""The gateway's Prometheus metrics, recorded at a few choke points and served at `/metrics`.

Recorded from: the request-log finalize (`gateway.requestlog.services.request_log_finish`:
every /v1 and console request ends there exactly once), the start of a route cooldown
(`gateway.routing.cooldowns.route_cool_down`), each upstream 429 by its kind
(`gateway.routing.cooldowns.route_record_failure`), a request's wait for a cooling route
(`gateway.routing.context`), the routes skipped for a spent budget
(`gateway.routing.candidates.without_cooling`), and the request-log writer's dropped changes
(`gateway.requestlog.writer`). Label bounds, the exposition and the multiprocess
setup are config.infra.metrics.
"""

from contextvars import ContextVar
from typing import TYPE_CHECKING

from prometheus_client import Counter, Histogram

from catalog.metrics import provider_label
from config.infra.metrics import LATENCY_BUCKETS, OTHER, code_label, kind_label, model_label

if TYPE_CHECKING:
    from gateway.requestlog.services import LogOutcome

# URL prefixes -> route kind; the first match wins.
ROUTE_KINDS = (
    ("/v1/chat/completions", "chat"),
    ("/v1/images/generations", "images"),
    ("/v1/images/analyze", "image_analyze"),
    ("/v1/audio/speech", "speech"),
    ("/v1/audio/transcriptions", "transcriptions"),
    ("/v1/embeddings", "embeddings"),
    ("/v1/completions", "completions"),
    ("/v1/", "api_other"),
    ("/chat/", "console_chat"),
    ("/playground/image", "console_images"),
    ("/playground/analyze", "console_image_analyze"),
    ("/playground/speech", "console_speech"),
)
# The request-log attempt entry of a request that waited for a route (not an upstream call).
HELD_STATUS = "held"
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
UPSTREAM_RATE_LIMITS = Counter(
    "openprovider_upstream_rate_limits",
    "Upstream 429s, by kind: minute or day limit, unknown (a bare 429), parked (bare 429s in a "
    "row: the route waits for the day's reset).",
    ["kind"],
)
HELD = Histogram(
    "openprovider_requests_held_seconds",
    "Seconds a request waited for a cooling route to free up, by outcome (served or refused).",
    ["outcome"],
    buckets=LATENCY_BUCKETS,
)
BUDGET_SKIPS = Counter(
    "openprovider_routes_skipped_for_budget",
    "Candidate routes skipped before a call because their known budget was spent.",
)
REQUEST_LOG_DROPPED = Counter(
    "openprovider_request_log_rows_dropped",
    "Request-log changes never written: refused by the database, queue full (overflow), or "
    "still queued when the process exited (exit).",
    ["reason"],
)


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
        calls = [a for a in outcome.attempts if a.get("status") != HELD_STATUS]
        for attempt in calls:
            outcome_kind = kind_label(str(attempt.get("status") or "unknown"))
            UPSTREAM_ATTEMPTS.labels(route=route, outcome=outcome_kind).inc()
        if len(calls) > 1:
            FALLBACKS.labels(route=route).inc(len(calls) - 1)
    except Exception:  # metrics must never fail a request
        return


def _model_name(outcome: "LogOutcome") -> str:
    """provider slug / upstream id: a public id starts with the credential's own name instead."""
    if not outcome.served_model:
        return ""
    upstream_id = outcome.served_model.split("/", 1)[-1]
    return f"{outcome.provider_slug or OTHER}/{upstream_id}"


def record_held(seconds: float, *, served: bool) -> None:
    HELD.labels(outcome="served" if served else "refused").observe(seconds)


def record_rate_limit(kind: str) -> None:
    UPSTREAM_RATE_LIMITS.labels(kind=kind_label(kind)).inc()


def record_budget_skips(count: int) -> None:
    if count:
        BUDGET_SKIPS.inc(count)


def record_cooldown(reason: str) -> None:
    COOLDOWNS.labels(reason=kind_label(reason or "unknown")).inc()
