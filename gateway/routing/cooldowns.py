"""Route cooldowns, a circuit breaker and health stats, shared by every node through the cache.

A route is one model through one credential. The keys are read by `catalog.route_health`:

- `route-cooldown:{credential_id}:{upstream_id}`: unix time until which the route is skipped
  (a 429 until its retry-after; an open breaker for GATEWAY_BREAKER_OPEN_SECONDS).
- `route-health:{credential_id}:{upstream_id}`: {ok, fail, latency_ms (EWMA)}.

Health updates are read-modify-write and may lose an update under a race; they only rank
candidates, so that is accepted. The breaker counter uses cache.add + cache.incr (atomic).
A cache outage never fails a request here: routing just runs without health data.

Successes are the common case, so each process adds them up per route and writes them at most
every GATEWAY_HEALTH_FLUSH_SECONDS (two round trips then, none for the requests in between): a
busy route costs a couple of cache calls a second instead of two per request. A failure of the
route writes its pending successes first, so this process's order of events is kept; other
nodes see a success (and its breaker reset) up to that interval late.
"""

import math
import threading
import time
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.core.cache import cache

from catalog.route_health import cooldown_key, health_key
from config.infra.cache_guard import cache_or_default
from gateway import metrics
from gateway.routing.backoff import Cooldown, bare_key, classify_429, rate_limit_cooldown
from gateway.routing.context import failure_reason
from providers.errors import ProviderError
from providers.ratelimits import DAY

Route = tuple[int, str]  # (credential_id, upstream_id)
HEALTH_TTL_SECONDS = 24 * 3600
HEALTH_HALVE_AT = 100  # halve the counters past this many calls, so health stays recent
LATENCY_WEIGHT = 0.3
BREAKER_KINDS = frozenset({"upstream", "timeout", "connection", "invalid_response", "empty"})
COOL_KINDS = frozenset({"auth", "unavailable", "not_found", "unreadable"})


def cooldown_until_many(routes: list[Route]) -> dict[Route, float]:
    """Routes cooling down now, with the unix time each cools down until."""
    keys = {cooldown_key(*route): route for route in routes}
    found = _safe(lambda: cache.get_many(list(keys)), {}) if keys else {}
    now = time.time()
    until: dict[Route, float] = {}
    for key, value in found.items():
        if isinstance(value, (int, float)) and value > now:
            until[keys[key]] = float(value)
    return until


def health_many(routes: list[Route]) -> dict[Route, dict[str, Any]]:
    keys = {health_key(*route): route for route in routes}
    found = _safe(lambda: cache.get_many(list(keys)), {}) if keys else {}
    return {keys[key]: value for key, value in found.items() if isinstance(value, dict)}


def route_cool_down(route: Route, seconds: float, reason: str = "") -> None:
    """Skip this route for `seconds` (never shortens a longer cooldown already set)."""
    seconds = max(float(seconds), 1.0)
    key = cooldown_key(*route)
    until = time.time() + seconds
    current = _safe(lambda: cache.get(key), None)
    if isinstance(current, (int, float)) and current >= until:
        return
    _safe(lambda: cache.set(key, until, math.ceil(seconds)), None)
    metrics.record_cooldown(reason)


class _PendingSuccesses:
    """This process's successes per route not written to the cache yet."""

    MAX_LATENCIES = 32  # older samples weigh (1 - LATENCY_WEIGHT) ** 32 < 1e-4 in the EWMA

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._latencies: dict[Route, list[float]] = {}
        self._written_at: dict[Route, float] = {}

    def add(self, route: Route, latency_ms: float) -> list[float] | None:
        """Queue one success; the route's queued latencies when they are due to be written."""
        now = time.monotonic()
        with self._lock:
            latencies = self._latencies.setdefault(route, [])
            latencies.append(latency_ms)
            del latencies[: -self.MAX_LATENCIES]
            if now - self._written_at.get(route, -math.inf) < settings.GATEWAY_HEALTH_FLUSH_SECONDS:
                return None
            self._written_at[route] = now
            return self._latencies.pop(route)

    def take(self, route: Route) -> list[float]:
        with self._lock:
            return self._latencies.pop(route, [])

    def clear(self) -> None:
        with self._lock:
            self._latencies.clear()
            self._written_at.clear()


_pending_successes = _PendingSuccesses()


def route_pending_successes_clear() -> None:
    """Forget the successes not written yet (tests: route ids are reused)."""
    _pending_successes.clear()


def route_record_success(route: Route, latency_ms: float) -> None:
    """Count the success (written with the route's other recent ones, see the module doc)."""
    latencies = _pending_successes.add(route, latency_ms)
    if latencies:
        _write_successes(route, latencies)


def _write_successes(route: Route, latencies: list[float]) -> None:
    """Add the successes to the route's health; reset the breaker if a failure was counted."""
    health = health_key(*route)
    ends = [_breaker_key(route), bare_key(route), _open_key(route), _trial_key(route)]
    found = _safe(lambda: cache.get_many([health, *ends]), {})
    _update_health(route, latencies=latencies, current=found.get(health))
    stale = [key for key in ends if key in found]  # a success closes the breaker, ends the runs
    if stale:
        _safe(lambda: cache.delete_many(stale), None)


def route_record_failure(
    route: Route,
    error: ProviderError,
    *,
    charges_failures: bool = False,
    day_left: bool = False,
) -> None:
    """Count the failure; cool the route down on 429 / auth, open the breaker on repeated 5xx.

    `charges_failures`: the provider counts a failed call against the day quota; `day_left`:
    the route's known day budget is far from spent (a bare 429 is then never a day limit)."""
    pending = _pending_successes.take(route)
    if pending:  # they came first: let them reset the breaker before this failure counts
        _write_successes(route, pending)
    _update_health(route, fail=1)
    if error.kind == "rate_limited":
        now = time.time()
        cooldown = rate_limit_cooldown(
            route, error, now, charges_failures=charges_failures, day_left=day_left
        )
        metrics.record_rate_limit(_rate_limit_kind(error, cooldown, now))
        route_cool_down(route, cooldown.until - now, reason=f"rate_limited_{cooldown.kind}")
        # The route is back when its cooldown ends: what a refusal's Retry-After must say.
        error.retry_after = cooldown.until - now
    elif error.kind in COOL_KINDS:
        route_cool_down(route, settings.GATEWAY_COOLDOWN_SECONDS, reason=error.kind)
    elif error.kind in BREAKER_KINDS:
        _breaker_failure(route, failure_reason(error))


def _breaker_key(route: Route) -> str:
    return f"route-breaker:{route[0]}:{route[1]}"


def _open_key(route: Route) -> str:
    """Present while the breaker is open or half-open: [seconds it last stayed open, reason]."""
    return f"route-open:{route[0]}:{route[1]}"


def _trial_key(route: Route) -> str:
    return f"route-trial:{route[0]}:{route[1]}"


def _breaker_failure(route: Route, reason: str) -> None:
    """Open the breaker on the threshold-th failure, or again at once when a trial fails;
    each reopening doubles the wait before the next trial, up to GATEWAY_BREAKER_OPEN_SECONDS."""
    last_open = _safe(lambda: cache.get(_open_key(route)), None)
    if isinstance(last_open, list) and last_open:
        seconds = min(float(last_open[0]) * 2, settings.GATEWAY_BREAKER_OPEN_SECONDS)
    elif _breaker_trips(route):
        seconds = settings.GATEWAY_BREAKER_TRIAL_SECONDS
    else:
        return
    seconds = max(float(seconds), 1.0)
    memory = math.ceil(seconds) + settings.GATEWAY_BREAKER_OPEN_SECONDS
    _safe(lambda: cache.set(_open_key(route), [seconds, reason], memory), None)
    _safe(lambda: cache.delete(_trial_key(route)), None)
    route_cool_down(route, seconds, reason="breaker_open")


def broken_many(routes: list[Route]) -> dict[Route, str]:
    """Routes whose breaker is open or half-open (an outage, not a rate limit): last reason."""
    keys = {_open_key(route): route for route in routes}
    found = _safe(lambda: cache.get_many(list(keys)), {}) if keys else {}
    return {keys[key]: str(value[-1]) for key, value in found.items() if isinstance(value, list)}


def breaker_trial_claim(route: Route) -> bool:
    """Half-open: True for the one request that may try the route; the others fall back."""
    ttl = math.ceil(settings.GATEWAY_BREAKER_TRIAL_SECONDS) + 10
    return bool(_safe(lambda: cache.add(_trial_key(route), 1, ttl), True))


def _breaker_trips(route: Route) -> bool:
    """Count a failure in the breaker window; True once the threshold is reached."""
    key = _breaker_key(route)

    def count() -> int:
        cache.add(key, 0, settings.GATEWAY_BREAKER_WINDOW_SECONDS)
        return cache.incr(key)

    failures = _safe(count, 0)
    if failures >= settings.GATEWAY_BREAKER_THRESHOLD:
        _safe(lambda: cache.delete(key), None)  # half-open after the cooldown: start over
        return True
    return False


_UNREAD = object()


def _update_health(
    route: Route,
    *,
    latencies: Sequence[float] = (),
    fail: int = 0,
    current: Any = _UNREAD,
) -> None:
    key = health_key(*route)
    if current is _UNREAD:
        current = _safe(lambda: cache.get(key), None)
    stats = current if isinstance(current, dict) else {"ok": 0, "fail": 0, "latency_ms": 0.0}
    stats = {
        "ok": int(stats.get("ok") or 0) + len(latencies),
        "fail": int(stats.get("fail") or 0) + fail,
        "latency_ms": float(stats.get("latency_ms") or 0.0),
    }
    for latency_ms in latencies:
        previous = stats["latency_ms"]
        stats["latency_ms"] = (
            latency_ms if not previous else previous + LATENCY_WEIGHT * (latency_ms - previous)
        )
    if stats["ok"] + stats["fail"] > HEALTH_HALVE_AT:
        stats["ok"], stats["fail"] = stats["ok"] // 2, stats["fail"] // 2
    _safe(lambda: cache.set(key, stats, HEALTH_TTL_SECONDS), None)


def _safe(call: Any, default: Any) -> Any:
    return cache_or_default(call, default, "route state")


def breaker_open_key(route: Route) -> str:
    """The key present while the route's breaker is open or half-open (for readers)."""
    return _open_key(route)


def _rate_limit_kind(error: ProviderError, cooldown: Cooldown, now: float) -> str:
    """minute, day or unknown; parked when a run of bare 429s sent the route to the day's end."""
    if cooldown.kind == DAY and classify_429(error, now) == "unknown":
        return "parked"
    return cooldown.kind
