"""Each route's budget and state as operators and clients see them, read for many routes at once.

Read-only over the keys routing writes (gateway.routing.quota, .cooldowns, .backoff): one cache
round trip for any number of routes. A route's quota object (times in ISO 8601 UTC):

- `state`: `ok`; `cooling` until `until`, `kind` saying why: a `minute` or `day` limit (a 429 of
  that kind, or the known budget spent) or `unknown` (bare 429s backing off); `parked` (bare 429s
  kept coming: the day budget is taken as gone until `until`, probed slowly); `breaker_open` (an
  outage, `reason` naming the last failure; after `until` one trial request goes through) and
  `breaker_half_open` (that trial is due); or the key's broken state (`auth_failed`,
  `payment_required`, `retired`, `unreadable`, `down`).
- `minute`, `day`: the request budget, {limit, remaining, resets_at}: our count against the known
  limit, or what the provider said when it leaves less; absent when neither is known.
  `tokens_minute`, `tokens_day` likewise where the provider reports tokens or the operator set
  tpm/tpd (our counts are of requests only, so their `remaining` is the provider's word).
- `shared`: the budget is the whole key's (the provider counts per account), not this model's.

The kind of a cooldown is not stored with it: a cooldown ending more than a minute away is a
day's, a nearer one a minute's, unless a run of bare 429s is being counted for the route.

/v1/models adds each entry's quota to the cached listing body (`listing_with_quotas`): the
quotas of all its routes are read in one cache round trip at most every
GATEWAY_QUOTA_VIEW_SECONDS per process and listing, so a busy listing stays as cheap as before
while its quotas are at most that old. A listing so large that reading its quotas costs more
than REREAD_SHARE of that interval (thousands of models) is reread less often, in proportion.
"""

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache

from accounts.models import Workspace
from catalog.listing_cache import catalog_version, with_live_members
from catalog.models import CatalogModel
from catalog.overrides import effective_limits
from catalog.route_health import cooldown_key, credential_usable
from catalog.selectors import active_models
from config.infra.cache_guard import cache_or_default
from config.infra.localcache import LocalCache
from config.infra.redis_pool import cache_get_many
from gateway.routing.backoff import bare_key
from gateway.routing.candidates import route_of
from gateway.routing.cooldowns import Route, breaker_open_key
from gateway.routing.quota import (
    budget_keys,
    budget_scope,
    budget_window_end,
    cached_phases,
    phase_keys,
    remember_phases,
)
from providers.ratelimits import DAY, MINUTE, MINUTE_RESET_HORIZON
from providers.registry import PROVIDERS

Window = dict[str, Any]  # {"limit", "remaining", "resets_at" (unix time)}
TOKEN_LIMIT_NAMES = {MINUTE: "tpm", DAY: "tpd"}
NO_QUOTA = ',"quota":null'
# Bodies of large listings are megabytes: keep few.
LISTINGS = LocalCache(
    "listings-with-quotas", ttl=lambda: settings.GATEWAY_QUOTA_VIEW_SECONDS, max_entries=8
)
REREAD_SHARE = 0.05
LISTED = LocalCache("quota-models", ttl=lambda: settings.GATEWAY_ROUTE_CACHE_SECONDS)
QUOTA_FIELDS = (
    "public_id",
    "credential_id",
    "upstream_id",
    "provider",
    "overrides",
    "credential__name",
    "credential__provider",
    "credential__state",
    "credential__limits",
    "family",
)


def listing_with_quotas(body: bytes, workspace: Workspace) -> bytes:
    """A /v1/models body with each entry's `quota` (null for the auto route)."""
    key = (workspace.pk, len(body), hash(body))
    listing: bytes | None = LISTINGS.get(key)
    if listing is None:
        started = time.perf_counter()
        listing = with_live_members(body, _members(workspace))
        LISTINGS.set(key, listing, _reuse_seconds(time.perf_counter() - started))
    return listing


def _reuse_seconds(cost: float) -> float:
    """GATEWAY_QUOTA_VIEW_SECONDS, longer for a listing so large that reading its quotas that
    often would take more than REREAD_SHARE of the process's time (0: never reused)."""
    seconds = float(settings.GATEWAY_QUOTA_VIEW_SECONDS)
    return max(seconds, cost / REREAD_SHARE) if seconds > 0 else 0.0


def _members(workspace: Workspace) -> Callable[[list[str]], list[str]]:
    def members(ids: list[str]) -> list[str]:
        by_id = listed_models(workspace)
        families = _family_routes(by_id, [i for i in ids if i not in by_id])
        listed = [by_id[public_id] for public_id in ids if public_id in by_id]
        listed += [model for routes in families.values() for model in routes]
        quotas = route_quotas(listed)
        texts: dict[int, str] = {}  # idle routes share a quota object: dump it once
        for model in listed:
            quota = quotas[route_of(model)]
            if id(quota) not in texts:
                texts[id(quota)] = ',"quota":' + json.dumps(quota, separators=(",", ":"))

        def text(public_id: str) -> str:
            if public_id in by_id:
                return texts[id(quotas[route_of(by_id[public_id])])]
            if public_id in families:
                quota = family_quota(families[public_id], quotas)
                return ',"quota":' + json.dumps(quota, separators=(",", ":"))
            return NO_QUOTA

        return [text(public_id) for public_id in ids]

    return members


def _family_routes(
    by_id: dict[str, CatalogModel], family_ids: list[str]
) -> dict[str, list[CatalogModel]]:
    wanted = set(family_ids)
    routes: dict[str, list[CatalogModel]] = {}
    for model in by_id.values():
        if model.family and model.family in wanted:
            routes.setdefault(model.family, []).append(model)
    return routes


def family_with_quota(entry: dict[str, Any], workspace: Workspace) -> dict[str, Any]:
    """One family's /v1/models/{id} entry with its `quota` (see family_quota)."""
    routes = _family_routes(listed_models(workspace), [entry["id"]]).get(entry["id"], [])
    return {**entry, "quota": family_quota(routes, route_quotas(routes)) if routes else None}


def family_quota(routes: list[CatalogModel], quotas: dict[Route, dict[str, Any]]) -> dict[str, Any]:
    """A family's budget now: `ok` while any route is, each route's quota by id, and the
    requests left this minute and today summed over the routes that know theirs."""
    by_route = {model.public_id: quotas[route_of(model)] for model in routes}
    states = [quota["state"] for quota in by_route.values()]
    family: dict[str, Any] = {"state": "ok" if "ok" in states else states[0], "routes": by_route}
    for span in (MINUTE, DAY):
        known = [q[span]["remaining"] for q in by_route.values() if q.get(span)]
        if known:
            family[span] = {"remaining": sum(known), "routes_counted": len(known)}
    return family


def listed_models(workspace: Workspace) -> dict[str, CatalogModel]:
    """public id -> the workspace's listed models, with only what a quota needs (cached per
    process under the catalog version, as routing's candidates are)."""
    version = cache_or_default(lambda: catalog_version(workspace.pk), None, "catalog version")
    if version is None:
        return _load_listed(workspace.pk)
    return LISTED.get_or_set((workspace.pk, version), lambda: _load_listed(workspace.pk))


def _load_listed(workspace_id: int) -> dict[str, CatalogModel]:
    rows = active_models(workspace_id=workspace_id).select_related("credential").only(*QUOTA_FIELDS)
    return {model.public_id: model for model in rows}


def status_with_quotas(status: dict[str, Any], workspace: Workspace) -> dict[str, Any]:
    """/v1/providers/status with each credential's `routes`: its models' quotas, by id."""
    models = list(listed_models(workspace).values())
    quotas = route_quotas(models)
    routes: dict[str, list[dict[str, Any]]] = {}
    for model in models:
        route = {"model": model.public_id, "quota": quotas[route_of(model)]}
        routes.setdefault(model.credential.name, []).append(route)
    data = [{**entry, "routes": routes.get(entry["name"], [])} for entry in status["data"]]
    return {**status, "data": data}


def model_with_quota(entry: dict[str, Any], model: CatalogModel | None) -> dict[str, Any]:
    """One /v1/models/{id} entry with its `quota` (null for the auto route)."""
    quota = None if model is None else route_quotas([model])[route_of(model)]
    return {**entry, "quota": quota}


def route_quotas(
    models: list[CatalogModel], now: float | None = None
) -> dict[Route, dict[str, Any]]:
    """{(credential id, upstream id): quota object} for `models`, in one cache round trip.
    Routes with nothing in the cache share one object per kind of budget: never mutate one."""
    now = time.time() if now is None else now
    # A phase this process has not seen is read in the same batch (0 assumed for the keys);
    # only a route whose provider's minute turns out to start elsewhere costs a second read.
    phases, missing = cached_phases({budget_scope(model) for model in models})
    keys = {route_of(model): _keys(model, now, phases[budget_scope(model)]) for model in models}
    found = _read([key for route_keys in keys.values() for key in route_keys], missing)
    learned = remember_phases(missing, found)
    if learned:
        moved = [m for m in models if budget_scope(m) in learned]
        for model in moved:
            keys[route_of(model)] = _keys(model, now, learned[budget_scope(model)])
        found.update(_read([key for m in moved for key in keys[route_of(m)]], []))
    quotas: dict[Route, dict[str, Any]] = {}
    idle: dict[tuple[Any, ...], dict[str, Any]] = {}
    for model in models:
        route = route_of(model)
        if any(key in found for key in keys[route]):
            quotas[route] = _quota(model, found, now)
            continue
        facts = (model.provider, model.credential.state, *sorted(effective_limits(model).items()))
        if facts not in idle:
            idle[facts] = _quota(model, {}, now)
        quotas[route] = idle[facts]
    return quotas


def _read(keys: list[str], phase_scopes: list[str]) -> dict[str, Any]:
    wanted = [*keys, *phase_keys(phase_scopes)]
    found: dict[str, Any] = cache_or_default(
        lambda: cache_get_many(cache, wanted), {}, "route quotas"
    )
    return found


def _keys(model: CatalogModel, now: float, phase: float) -> list[str]:
    """The route's cooldown, breaker and bare-429 keys, then its budget keys."""
    route = route_of(model)
    return [
        cooldown_key(*route),
        breaker_open_key(route),
        bare_key(route),
        *budget_keys(model, now, phase),
    ]


def _quota(model: CatalogModel, found: dict[str, Any], now: float) -> dict[str, Any]:
    windows = _windows(model, found, now)
    quota = _state(model, route_of(model), found, windows, now)
    spec = PROVIDERS.get(model.provider)
    quota["shared"] = spec is not None and spec.limits_per_account
    for name, window in windows.items():
        if window is not None:  # absent when unknown: most routes of a large listing
            quota[name] = {**window, "resets_at": _iso(window["resets_at"])}
    return quota


def _state(
    model: CatalogModel,
    route: Route,
    found: dict[str, Any],
    windows: dict[str, Window | None],
    now: float,
) -> dict[str, Any]:
    if not credential_usable(model.credential.state):
        return _said(model.credential.state)
    until = _number(found.get(cooldown_key(*route)))
    until = until if until is not None and until > now else None
    opened = found.get(breaker_open_key(route))
    if isinstance(opened, list) and opened:
        state = "breaker_open" if until else "breaker_half_open"
        return _said(state, until=until, reason=str(opened[-1]))
    bare = _number(found.get(bare_key(route))) or 0
    if until and bare >= settings.GATEWAY_BARE_429_PARK_AFTER:
        return _said("parked", until=until, kind=DAY)
    if until:
        kind = "unknown" if bare else DAY if until - now > MINUTE_RESET_HORIZON else MINUTE
        return _said("cooling", until=until, kind=kind)
    spent = [
        (window["resets_at"], span)
        for span, window in ((MINUTE, windows["minute"]), (DAY, windows["day"]))
        if window and window["remaining"] == 0 and (window["resets_at"] or 0) > now
    ]
    if spent:
        reset, span = max(spent)
        return _said("cooling", until=reset, kind=span)
    return _said("ok")


def _said(
    state: str, *, until: float | None = None, kind: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    return {"state": state, "until": _iso(until), "kind": kind, "reason": reason}


def _windows(model: CatalogModel, found: dict[str, Any], now: float) -> dict[str, Window | None]:
    spent: dict[str, tuple[int, Any]] = {}
    said: dict[str, Any] = {}
    for key, (span, limit) in budget_keys(model, now).items():
        if span:
            spent[span] = (limit, found.get(key))
        elif isinstance(found.get(key), dict):
            said = found[key]
    configured = effective_limits(model)
    windows: dict[str, Window | None] = {}
    for span in (MINUTE, DAY):
        limit, count = spent.get(span, (0, None))
        ends = budget_window_end(model, span, now)
        windows[span] = _request_window(limit, count, ends, said.get(f"requests-{span}"), now)
        token_limit = configured.get(TOKEN_LIMIT_NAMES[span])
        windows[f"tokens_{span}"] = _token_window(token_limit, said.get(f"tokens-{span}"), now)
    return windows


def _request_window(limit: int, count: Any, ends: float, said: Any, now: float) -> Window | None:
    """Our count against the known limit, or the provider's word where it leaves less."""
    options = []
    if limit:
        used = count if isinstance(count, int) else 0
        options.append((max(limit - used, 0), ends))
    word = _word(said, now)
    if word is not None and word[1] is not None:
        options.append((word[1], word[2]))
    if not options:
        return None if word is None else {"limit": word[0], "remaining": None, "resets_at": word[2]}
    remaining, resets_at = min(options, key=lambda option: option[0])
    return {
        "limit": limit or (word[0] if word else None),
        "remaining": remaining,
        "resets_at": resets_at,
    }


def _token_window(limit: Any, said: Any, now: float) -> Window | None:
    word = _word(said, now)
    if word is None:
        return None if not limit else {"limit": limit, "remaining": None, "resets_at": None}
    return {"limit": word[0] or limit, "remaining": word[1], "resets_at": word[2]}


def _word(said: Any, now: float) -> tuple[Any, Any, Any] | None:
    """[limit, remaining, reset_at] the provider said, while it still holds."""
    if not isinstance(said, list) or len(said) != 3:
        return None
    reset = _number(said[2])
    if reset is not None and reset <= now:
        return None  # its window has ended since
    return said[0], said[1], reset


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _iso(when: float | None) -> str | None:
    if when is None:
        return None
    try:
        moment = datetime.fromtimestamp(when, UTC)
    except (ValueError, OverflowError, OSError):  # not a time any window could hold
        return None
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
