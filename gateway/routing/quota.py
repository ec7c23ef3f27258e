"""Route budgets in the shared cache: known limits, what the provider said, what was spent.

A budget binds one route (credential + model) or, where the provider counts per account
(`ProviderSpec.limits_per_account`, OpenRouter), the whole credential. Known limits are the
registry row's `rpm`/`rpd` with the credential's `limits` and the model's `limits` override on
top (a custom server has none unless the operator sets them). Keys, all in the shared cache so
every node sees one budget:

- `quota-spent:{scope}:{span}:{window}` -> calls reserved in that UTC minute or day; counted
  atomically (add + incr) BEFORE the call, so nodes sharing the cache never reserve one budget
  twice: a call over the limit is refused, not sent.
- `quota-said:{scope}` -> {span: [limit, remaining, reset_at]}: what the latest answer said.
- `quota-phase:{scope}` -> seconds into the UTC minute at which the provider's own minute
  window starts, learnt from a requests-per-minute reset it reported (OpenRouter's on a 429,
  OpenAI-style `x-ratelimit-reset-requests`). Until one is reported, minutes are UTC minutes;
  each process keeps the phase for `PHASE_CACHE_SECONDS`, so after a change a process may count
  into the old window for that long.

A route whose budget is spent (by our count or by the provider's word) is skipped before it
is called. A cache outage never fails a request: routing then runs without budgets.
"""

import math
import time
from typing import Any

from django.core.cache import cache

from catalog.models import CatalogModel
from catalog.overrides import effective_limits
from config.infra.cache_guard import cache_or_default
from config.infra.localcache import LocalCache
from providers.ratelimits import DAY, MINUTE, MINUTE_RESET_HORIZON, RateLimitHints
from providers.registry import PROVIDERS

SPAN_SECONDS = {MINUTE: 60, DAY: 86400}
LIMIT_NAMES = {MINUTE: "rpm", DAY: "rpd"}
UNITS = ("requests", "tokens")
SAID_TTL_SECONDS = 60  # when the provider gave no reset
PHASE_CACHE_SECONDS = 30.0
DAY_LEFT_SHARE = 0.9
# Our minute starts this long after the provider's reset (its clock and the answer's latency),
# and a reported reset this close to the known phase is the same window, not a new phase.
PHASE_MARGIN_SECONDS, PHASE_TOLERANCE_SECONDS = 0.25, 1.0
PHASES = LocalCache("quota-phases", ttl=lambda: PHASE_CACHE_SECONDS)


def known_limits(model: CatalogModel) -> dict[str, int]:
    """{span: calls allowed}: the operator's limits for the model, else for its credential,
    else the registry row's."""
    limits = effective_limits(model)
    known: dict[str, int] = {}
    for span, name in LIMIT_NAMES.items():
        value = limits.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            known[span] = value
    return known


def budget_scope(model: CatalogModel) -> str:
    spec = PROVIDERS.get(model.provider)
    if spec is not None and spec.limits_per_account:
        return f"c:{model.credential_id}"
    return f"r:{model.credential_id}:{model.upstream_id}"


def window_end(span: str, now: float, phase: float = 0.0) -> float:
    """When the current minute (starting `phase` seconds into the UTC minute) or UTC day ends."""
    seconds = SPAN_SECONDS[span]
    phase = phase if span == MINUTE else 0.0
    return (math.floor((now - phase) / seconds) + 1) * seconds + phase


def _spent_key(scope: str, span: str, now: float, phase: float = 0.0) -> str:
    if span != MINUTE:
        return f"quota-spent:{scope}:{span}:{math.floor(now / SPAN_SECONDS[span])}"
    return f"quota-spent:{scope}:{span}:{phase:g}:{math.floor((now - phase) / SPAN_SECONDS[span])}"


def _said_key(scope: str) -> str:
    return f"quota-said:{scope}"


def _phase_key(scope: str) -> str:
    return f"quota-phase:{scope}"


def cached_phases(scopes: set[str]) -> tuple[dict[str, float], list[str]]:
    """The phases this process knows, and the scopes whose phase it must read (0 meanwhile)."""
    phases = {scope: PHASES.get(scope) for scope in scopes}
    missing = [scope for scope, phase in phases.items() if phase is None]
    return {scope: float(phase or 0.0) for scope, phase in phases.items()}, missing


def phase_keys(scopes: list[str]) -> list[str]:
    return [_phase_key(scope) for scope in scopes]


def remember_phases(scopes: list[str], found: dict[str, Any]) -> dict[str, float]:
    """Keep the phases read for `scopes` (found by a batched read); those other than 0."""
    learned = {}
    for scope in scopes:
        value = found.get(_phase_key(scope))
        phase = float(value) if isinstance(value, int | float) else 0.0
        PHASES.set(scope, phase)
        if phase:
            learned[scope] = phase
    return learned


def minute_phases(scopes: set[str]) -> dict[str, float]:
    """{scope: where its provider's minute starts in the UTC minute}, 0 when never reported."""
    phases = {scope: PHASES.get(scope) for scope in scopes}
    missing = [scope for scope, phase in phases.items() if phase is None]
    if missing:
        found = _safe(lambda: cache.get_many([_phase_key(scope) for scope in missing]), {})
        for scope in missing:
            value = found.get(_phase_key(scope))
            phases[scope] = float(value) if isinstance(value, int | float) else 0.0
            PHASES.set(scope, phases[scope])
    return {scope: float(phase or 0.0) for scope, phase in phases.items()}


def _learn_phase(scope: str, hints: RateLimitHints, now: float) -> None:
    """Align our minute with the provider's when it reports when its requests minute resets.
    The calls counted in the window so far move along, so a new phase never frees budget."""
    window = hints.window("requests", MINUTE)
    reset_at = window.reset_at if window is not None else None
    if reset_at is None or not 0 < reset_at - now <= MINUTE_RESET_HORIZON:
        return
    phase = round((reset_at + PHASE_MARGIN_SECONDS) % SPAN_SECONDS[MINUTE], 1)
    known = minute_phases({scope})[scope]
    distance = abs(phase - known) % SPAN_SECONDS[MINUTE]
    if min(distance, SPAN_SECONDS[MINUTE] - distance) <= PHASE_TOLERANCE_SECONDS:
        return
    spent = _safe(lambda: cache.get(_spent_key(scope, MINUTE, now, known)), None)
    if isinstance(spent, int) and spent > 0:
        ttl = math.ceil(window_end(MINUTE, now, phase) - now) + 5
        _safe(lambda: cache.add(_spent_key(scope, MINUTE, now, phase), spent, ttl), None)
    _safe(lambda: cache.set(_phase_key(scope), phase, SPAN_SECONDS[DAY]), None)
    PHASES.set(scope, phase)


def _read_budgets(models: list[CatalogModel], now: float) -> list[tuple[str, str, int, Any, float]]:
    """(scope, span, limit, value, minute phase) for each budget key of `models` found: one
    round trip (two when a process has not seen a scope's phase lately). span "" is the
    provider's word (`quota-said`)."""
    keys: dict[str, tuple[str, str, int]] = {}
    phases = minute_phases({budget_scope(model) for model in models})
    for model in models:
        scope = budget_scope(model)
        for span, limit in known_limits(model).items():
            keys[_spent_key(scope, span, now, phases[scope])] = (scope, span, limit)
        keys.setdefault(_said_key(scope), (scope, "", 0))
    found = _safe(lambda: cache.get_many(list(keys)), {}) if keys else {}
    return [(*keys[key], value, phases[keys[key][0]]) for key, value in found.items()]


def spent_until_many(models: list[CatalogModel], now: float | None = None) -> dict[str, float]:
    """{budget scope: unix time it frees up} for the scopes of `models` known to be spent."""
    now = time.time() if now is None else now
    spent: dict[str, float] = {}
    for scope, span, limit, value, phase in _read_budgets(models, now):
        for until in _spent_until(span, limit, value, now, phase):
            spent[scope] = max(spent.get(scope, 0.0), until)
    return spent


def room_many(models: list[CatalogModel], now: float | None = None) -> dict[str, dict[str, float]]:
    """{budget scope: {span: share of the budget left}} where counts or the provider tell."""
    now = time.time() if now is None else now
    room: dict[str, dict[str, float]] = {}
    for scope, span, limit, value, _phase in _read_budgets(models, now):
        shares = room.setdefault(scope, {})
        for left_span, share in _shares(span, limit, value):
            shares[left_span] = min(shares.get(left_span, 1.0), share)
    return room


def _shares(span: str, limit: int, value: Any) -> list[tuple[str, float]]:
    if span:
        return [(span, max(limit - value, 0) / limit)] if isinstance(value, int) else []
    if not isinstance(value, dict):
        return []
    shares = []
    for name, said in value.items():  # "requests-minute": [limit, remaining, reset_at]
        if isinstance(said, list) and len(said) == 3 and said[0] and said[1] is not None:
            shares.append((name.rsplit("-", 1)[-1], max(min(said[1] / said[0], 1.0), 0.0)))
    return shares


def spending_order(shares: dict[str, float]) -> tuple[int, float]:
    """Sort key: spend what renews soonest first. The budget that binds first (least share
    left) decides; a day-bound route waits behind minute-bound ones, then more room first."""
    if not shares:
        return (0, -1.0)
    span, share = min(shares.items(), key=lambda item: (item[1], item[0] != DAY))
    return (1 if span == DAY else 0, -round(share, 1))


def _spent_until(span: str, limit: int, value: Any, now: float, phase: float) -> list[float]:
    if span:  # our count of the current window
        if isinstance(value, int) and value >= limit:
            return [window_end(span, now, phase)]
        return []
    if not isinstance(value, dict):
        return []
    return [  # the provider said: nothing left until its reset
        float(said[2])
        for said in value.values()
        if isinstance(said, list) and len(said) == 3 and said[1] == 0 and (said[2] or 0) > now
    ]


def quota_reserve(model: CatalogModel, now: float | None = None) -> float | None:
    """Count one call against the route's known budgets; None when it may go out, else the
    unix time the spent budget frees up (nothing stays reserved then)."""
    now = time.time() if now is None else now
    scope = budget_scope(model)
    limits = known_limits(model)
    phase = minute_phases({scope})[scope] if MINUTE in limits else 0.0
    taken: list[str] = []
    for span, limit in limits.items():
        key = _spent_key(scope, span, now, phase)
        count = _safe(lambda key=key, span=span: _incr(key, span, now, phase), None)
        if count is None:
            continue  # no cache: no budget to enforce
        taken.append(key)
        if count > limit:
            for reserved in taken:
                _safe(lambda reserved=reserved: cache.decr(reserved), None)
            return window_end(span, now, phase)
    return None


def _incr(key: str, span: str, now: float, phase: float) -> int:
    ttl = math.ceil(window_end(span, now, phase) - now) + 5
    cache.add(key, 0, ttl)
    return int(cache.incr(key))


def quota_record_hints(
    model: CatalogModel, hints: RateLimitHints, now: float | None = None
) -> None:
    """Keep what an answer said about the route's budgets until its latest reset."""
    now = time.time() if now is None else now
    _learn_phase(budget_scope(model), hints, now)
    said: dict[str, list[Any]] = {}
    for unit in UNITS:
        for span in (MINUTE, DAY):
            window = hints.window(unit, span)
            if window is not None and (window.remaining is not None or window.limit is not None):
                said[f"{unit}-{span}"] = [window.limit, window.remaining, window.reset_at]
    if not said:
        return
    resets = [value[2] for value in said.values() if value[2]]
    ttl = math.ceil(max(resets) - now) if resets else SAID_TTL_SECONDS
    ttl = min(max(ttl, 1), SPAN_SECONDS[DAY])
    _safe(lambda: cache.set(_said_key(budget_scope(model)), said, ttl), None)


def quota_day_left(model: CatalogModel, now: float | None = None) -> bool:
    """Whether the route's day budget is known and at most `DAY_LEFT_SHARE` spent by our count
    (a 429 then cannot be its day limit)."""
    limit = known_limits(model).get(DAY)
    if limit is None:
        return False
    now = time.time() if now is None else now
    spent = _safe(lambda: cache.get(_spent_key(budget_scope(model), DAY, now)), None)
    return isinstance(spent, int) and spent <= limit * DAY_LEFT_SHARE


def quota_said(model: CatalogModel) -> dict[str, list[Any]]:
    value = _safe(lambda: cache.get(_said_key(budget_scope(model))), None)
    return value if isinstance(value, dict) else {}


def _safe(call: Any, default: Any) -> Any:
    return cache_or_default(call, default, "route budgets")


def budget_keys(
    model: CatalogModel, now: float, phase: float | None = None
) -> dict[str, tuple[str, int]]:
    """{cache key: (span, known limit)} of the route's budget keys in the current windows; span
    "" (limit 0) is the provider's word. For readers batching them with other keys."""
    scope = budget_scope(model)
    phase = minute_phases({scope})[scope] if phase is None else phase
    keys = {
        _spent_key(scope, span, now, phase): (span, limit)
        for span, limit in known_limits(model).items()
    }
    keys[_said_key(scope)] = ("", 0)
    return keys


def budget_window_end(model: CatalogModel, span: str, now: float) -> float:
    """When the route's current minute (in its provider's phase) or UTC day ends."""
    scope = budget_scope(model)
    return window_end(span, now, minute_phases({scope})[scope])
