"""The cached /v1/models body: ten thousand models in about a millisecond when warm.

Cached at two levels in the shared cache, both keyed by workspace id, the workspace's
catalog version and the filters (plus a small per-process copy of fresh bodies, see
`_LocalBodies`):

- fragments: each model's JSON rendered once per catalog version (syncs that change something,
  credential saves, deletes and state changes bump the version);
- the body: fragments of enabled credentials joined with a fresh `working` flag (credential
  states read from the database, cooldowns from the cache), kept LISTING_TTL_SECONDS.
  Families (catalog.families) are cached the same way and get their routes' states per render.

`working` depends on cooldowns written by live traffic, which are not folded into the version:
the short TTL bounds how stale it can be, and a re-render costs only the cooldown lookup and a
join. Stale-while-revalidate: after the TTL one request re-renders while concurrent ones keep
getting the previous body, so a busy workspace never renders N times at once.

Members that must be fresher than the body (the gateway's live route quotas) are added to a
served body by `with_live_members`, without parsing it.
"""

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from django.core.cache import cache
from redis.exceptions import RedisError

from catalog.families import Group, family_entry, family_groups, route_state
from catalog.route_health import cooling_routes, credential_usable
from catalog.selectors import (
    AUTO_STATIC_ENTRY,
    LISTING_FIELDS,
    ZERO_PRICING,
    active_models,
    auto_route_filters,
    static_entry,
)
from providers.models import ProviderCredential

logger = logging.getLogger(__name__)
# What an unreachable or overloaded Redis raises (a timeout, a refused or exhausted connection).
CACHE_ERRORS = (RedisError, OSError)

LISTING_TTL_SECONDS = 5
LISTING_KEEP_SECONDS = 300  # a stale body may be served while one request re-renders it
LISTING_RENDER_SECONDS = 10
FRAGMENTS_KEEP_SECONDS = 600  # bounds any change that was saved without a version bump
LOCAL_MAX_BYTES = 64 * 1024 * 1024  # per process
_SUFFIX = ',"pricing":' + json.dumps(ZERO_PRICING, separators=(",", ":")) + "}"
_ENTRY_END = _SUFFIX.encode()  # JSON escapes every quote inside strings: unique per entry
_ENTRY_START = b'{"id":"'
Fragment = tuple[int, str, str]  # credential id, upstream id, JSON head
Body = tuple[float, bytes]  # fresh until (unix time), rendered JSON


def catalog_version_key(workspace_id: int) -> str:
    return f"catalog-version:{workspace_id}"


def catalog_version(workspace_id: int) -> int:
    """The workspace's catalog version; a missing (evicted) one restarts at a fresh value."""
    key = catalog_version_key(workspace_id)
    version = cache.get(key)
    if version is None:
        cache.add(key, time.time_ns(), None)
        version = cache.get(key, 0)
    return int(version)


def _head(entry: dict[str, Any]) -> str:
    """An entry's JSON up to its `working` value, which is filled in per render."""
    return json.dumps(entry, separators=(",", ":"))[:-1] + ',"working":'


def _fragments(
    workspace_id: int, version: int | None, category: str | None, provider: str | None
) -> list[Fragment]:
    """Cached under the catalog version; read from the database alone when `version` is None."""
    key = f"catalog-fragments:{workspace_id}:{version}:{category or ''}:{provider or ''}"
    fragments = cache.get(key) if version is not None else None
    if fragments is None:
        rows = active_models(workspace_id=workspace_id, category=category, provider=provider)
        fragments = [
            (row["credential_id"], row["upstream_id"], _head(static_entry(row)))
            for row in rows.values(*LISTING_FIELDS)
        ]
        if version is not None:
            cache.set(key, fragments, FRAGMENTS_KEEP_SECONDS)
    return fragments


def _families(workspace_id: int, version: int | None) -> list[Group]:
    """The workspace's families, cached under the catalog version like the fragments."""
    key = f"catalog-families:{workspace_id}:{version}"
    groups = cache.get(key) if version is not None else None
    if groups is None:
        groups = family_groups(workspace_id=workspace_id)
        if version is not None:
            cache.set(key, groups, FRAGMENTS_KEEP_SECONDS)
    return groups


def _credential_states(workspace_id: int) -> dict[int, str]:
    """Enabled credentials of the workspace -> their state."""
    rows = ProviderCredential.objects.filter(workspace_id=workspace_id, enabled=True)
    return dict(rows.values_list("pk", "state"))


def _family_items(
    groups: list[Group], states: dict[int, str], cooling: set[tuple[int, str]], category: str | None
) -> list[tuple[str, bool]]:
    """(JSON head, working) of each family entry the category filter allows."""
    items = []
    for group in groups:
        entry = family_entry(
            group, lambda cid, uid: route_state(states.get(cid), (cid, uid) in cooling)
        )
        if entry is None or (category and entry["category"] != category):
            continue
        working = entry.pop("working")
        entry.pop("pricing")
        items.append((_head(entry), working))
    return items


def _render(
    workspace_id: int,
    version: int | None,
    category: str | None,
    provider: str | None,
    working: bool | None,
) -> bytes:
    """The auto route first (when the filters allow it), then the workspace's families (not
    under a provider filter: a family spans providers), then its free models."""
    only_auto, auto_listed = auto_route_filters(category, provider)
    fragments = _fragments(
        workspace_id, version, None if only_auto else category, None if only_auto else provider
    )
    groups = [] if only_auto or provider else _families(workspace_id, version)
    # Credential state and `enabled` are read fresh: a check or an admin edit may not bump.
    states = _credential_states(workspace_id)
    credentials = {pk: credential_usable(state) for pk, state in states.items()}
    fragments = [f for f in fragments if f[0] in credentials]
    family_routes = [(cid, uid) for _, routes in groups for cid, uid, _, _ in routes]
    cooling = cooling_routes(
        [(cid, uid) for cid, uid, _ in fragments if credentials[cid]]
        + [route for route in family_routes if credentials.get(route[0])]
    )
    items = _family_items(groups, states, cooling, category)
    items += [
        (head, credentials[cid] and (cid, uid) not in cooling) for cid, uid, head in fragments
    ]
    if auto_listed:
        auto = (_head(AUTO_STATIC_ENTRY), any(up for _, up in items))
        items = [auto] if only_auto else [auto, *items]
    elif only_auto:
        items = []
    if working is not None:
        items = [(head, up) for head, up in items if up is working]
    data = ",".join(f"{head}{'true' if up else 'false'}{_SUFFIX}" for head, up in items)
    return f'{{"object":"list","data":[{data}]}}'.encode()


class _LocalBodies:
    """A small per-process LRU in front of the shared cache: a fresh body is served without
    fetching megabytes from Redis. Entries are only used while fresh (at most the TTL) and the
    key holds the catalog version, read from the shared cache on every request, so a bump on
    any node is seen at once."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes, self.size = max_bytes, 0
        self.items: OrderedDict[str, Body] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: str) -> Body | None:
        with self.lock:
            item = self.items.get(key)
            if item is not None:
                self.items.move_to_end(key)
            return item

    def put(self, key: str, item: Body) -> None:
        with self.lock:
            old = self.items.pop(key, None)
            self.size += len(item[1]) - (len(old[1]) if old else 0)
            self.items[key] = item
            while self.size > self.max_bytes and self.items:
                self.size -= len(self.items.popitem(last=False)[1][1])


_local_bodies = _LocalBodies(LOCAL_MAX_BYTES)


def catalog_listing_json(
    *, workspace_id: int, category: str | None, provider: str | None, working: bool | None
) -> bytes:
    """The /v1/models body for a workspace and filters, from cache when fresh enough; rendered
    from the database alone while the cache is down (never from a per-process copy)."""
    try:
        return _cached_listing(workspace_id, category, provider, working)
    except CACHE_ERRORS:
        logger.warning("catalog cache unavailable; listing rendered from the database")
        return _render(workspace_id, None, category, provider, working)


def _cached_listing(
    workspace_id: int, category: str | None, provider: str | None, working: bool | None
) -> bytes:
    version = catalog_version(workspace_id)
    key = f"catalog-listing:{workspace_id}:{version}:{category or ''}:{provider or ''}:{working}"
    now = time.time()
    local = _local_bodies.get(key)
    if local is not None and local[0] > now:
        return local[1]
    shared = cache.get(key)
    if shared is not None and shared[0] > now:
        _local_bodies.put(key, shared)
        return shared[1]
    if shared is not None and not cache.add(f"{key}:rendering", 1, LISTING_RENDER_SECONDS):
        return shared[1]  # another request is re-rendering it: serve the stale body meanwhile
    body = _render(workspace_id, version, category, provider, working)
    item = (time.time() + LISTING_TTL_SECONDS, body)
    cache.set(key, item, LISTING_KEEP_SECONDS)
    cache.delete(f"{key}:rendering")
    _local_bodies.put(key, item)
    return body


def with_live_members(body: bytes, members: Callable[[list[str]], list[str]]) -> bytes:
    """A listing body with JSON members added at the end of each entry: `members(ids)` gets
    the entries' ids in order and gives one `,"name":value` string for each."""
    parts = body.split(_ENTRY_END)
    ids = [_entry_id(part) for part in parts[:-1]]
    added = members(ids)
    pieces: list[bytes] = []
    for part, more in zip(parts[:-1], added, strict=True):
        pieces += (part, _ENTRY_END[:-1], more.encode(), b"}")
    pieces.append(parts[-1])
    return b"".join(pieces)


def _entry_id(part: bytes) -> str:
    start = part.index(_ENTRY_START) + len(_ENTRY_START) - 1
    end = part.index(b'"', start + 1)
    if b"\\" not in part[start:end]:
        return part[start + 1 : end].decode()
    return str(json.JSONDecoder().raw_decode(part[start:].decode())[0])
