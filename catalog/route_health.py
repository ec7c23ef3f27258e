"""Model health fed by live traffic: read-only views of the keys the gateway writes.

Cache key formats (the gateway writes them, the catalog only reads them):

- ``route-cooldown:{credential_id}:{upstream_id}`` -> float unix time until which the route
  (one model through one credential) is cooling down after a 429 / 5xx / timeout. The gateway
  sets the cache timeout to the cooldown length, so an expired key simply disappears.
- ``route-health:{credential_id}:{upstream_id}`` -> ``{"ok": int, "fail": int,
  "latency_ms": float}``: recent successes, failures and a moving average latency.

A model is *working* when its credential is not in a broken state (auth_failed,
payment_required, retired, unreadable, down) and its route is not cooling down. Rate-limited
credentials still count as working: the limit is usually per model or per minute and the router
falls back anyway.
"""

import logging
import time
from collections.abc import Iterable
from typing import Any, TypedDict

from django.core.cache import cache

from catalog.models import CatalogModel

logger = logging.getLogger(__name__)

BROKEN_STATES = frozenset({"auth_failed", "payment_required", "retired", "unreadable", "down"})


class RouteHealth(TypedDict):
    ok: int
    fail: int
    latency_ms: float


def cooldown_key(credential_id: int, upstream_id: str) -> str:
    return f"route-cooldown:{credential_id}:{upstream_id}"


def health_key(credential_id: int, upstream_id: str) -> str:
    return f"route-health:{credential_id}:{upstream_id}"


def credential_usable(state: str) -> bool:
    """False when the credential's last check or sync says calls through it cannot work."""
    return state not in BROKEN_STATES


def _cooling(value: Any, now: float) -> bool:
    try:
        return float(value) > now
    except (TypeError, ValueError):
        return False


def route_cooling_down(credential_id: int, upstream_id: str) -> bool:
    return bool(cooling_routes([(credential_id, upstream_id)]))


def cooling_routes(routes: Iterable[tuple[int, str]]) -> set[tuple[int, str]]:
    """The subset of (credential_id, upstream_id) routes cooling down, in one cache round trip.

    None while the cache is down: listings then say `working` from credential states alone, and
    the gateway learns a cooldown again from the provider's next 429.
    """
    keys = {cooldown_key(cid, uid): (cid, uid) for cid, uid in routes}
    if not keys:
        return set()
    now = time.time()
    try:
        found = cache.get_many(list(keys))
    except Exception:
        logger.warning("cooldowns unavailable (cache error); routes listed as not cooling")
        return set()
    return {keys[key] for key, value in found.items() if _cooling(value, now)}


def route_health(credential_id: int, upstream_id: str) -> RouteHealth:
    raw = cache.get(health_key(credential_id, upstream_id))
    if not isinstance(raw, dict):
        return {"ok": 0, "fail": 0, "latency_ms": 0.0}
    return {
        "ok": int(raw.get("ok") or 0),
        "fail": int(raw.get("fail") or 0),
        "latency_ms": float(raw.get("latency_ms") or 0.0),
    }


def model_working(model: CatalogModel) -> bool:
    """Whether a call to this model is expected to work right now."""
    if not model.is_active or not credential_usable(model.credential.state):
        return False
    return not route_cooling_down(model.credential_id, model.upstream_id)
