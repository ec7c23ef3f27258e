"""Families in /v1/models: one entry per model served by several routes of the workspace.

A family's entry lists its routes (each route's id, provider, limits and state), the smallest
context length and output limit across them, the capabilities every route has (each route's own
flags are in its entry) and the free capacity its working routes add up to. Only families with
at least two routes are listed (one route adds nothing to its own entry); any family id routes.

The parts that change only with the catalog version are built once (`family_groups`, cached by
catalog.listing_cache); route states and the capacity are filled in per render
(`family_entry`), from the same fresh credential states and cooldowns as every other entry.
"""

from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from catalog.overrides import layered_limits
from catalog.route_health import cooling_routes, credential_usable
from catalog.selectors import ZERO_PRICING, active_models
from providers.models import ProviderCredential
from providers.registry import PROVIDERS

MIN_LISTED_ROUTES = 2
CAPACITY_LIMITS = ("rpm", "rpd")
CHAT = ("text", "vision")
ROUTE_FIELDS = (
    "family",
    "public_id",
    "upstream_id",
    "credential_id",
    "credential__name",
    "credential__limits",
    "overrides",
    "provider",
    "category",
    "context_length",
    "max_output_tokens",
    "capabilities",
    "first_seen",
)
Route = tuple[int, str]  # credential id, upstream id
# A route: (credential id, upstream id, budget scope, its static fields in the entry).
GroupRoute = tuple[int, str, str, dict[str, Any]]
Group = tuple[dict[str, Any], list[GroupRoute]]  # the static entry, its routes


def _scope(row: dict[str, Any]) -> str:
    """The budget a route spends: the whole credential's where the provider counts per
    account, so two routes of one account are not counted twice."""
    spec = PROVIDERS.get(row["provider"])
    if spec is not None and spec.limits_per_account:
        return f"c:{row['credential_id']}"
    return f"r:{row['credential_id']}:{row['upstream_id']}"


def family_category(categories: Iterable[str]) -> str:
    """One category for the family: a chat family is vision only if every route sees."""
    found = set(categories)
    if found <= set(CHAT):
        return "vision" if found == {"vision"} else "text"
    return min(found)


def shared_capabilities(flags: list[dict[str, Any]]) -> dict[str, bool | None]:
    """Per capability: true if every route has it, false if one is known not to, else null."""
    names = sorted({name for route in flags for name in route})
    shared: dict[str, bool | None] = {}
    for name in names:
        values = [route.get(name) for route in flags]
        shared[name] = False if False in values else (True if all(values) else None)
    return shared


def _smallest(values: Iterable[int | None]) -> int | None:
    known = [value for value in values if value]
    return min(known) if known else None


def _route_static(row: dict[str, Any]) -> dict[str, Any]:
    """A route inside its family's entry; `state` and `working` are added per render."""
    return {
        "id": row["public_id"],
        "provider": row["provider"],
        "owned_by": row["credential__name"],
        "category": row["category"],
        "context_length": row["context_length"],
        "max_output_tokens": row["max_output_tokens"],
        "capabilities": row["capabilities"] or {},
        # the rule the router budgets with: registry, key, then the model's own
        "limits": layered_limits(row["provider"], row["credential__limits"], row["overrides"]),
    }


def _group(family: str, rows: list[dict[str, Any]]) -> Group:
    entry = {
        "id": family,
        "object": "model",
        "created": min(int(row["first_seen"].timestamp()) for row in rows),
        "owned_by": "openprovider",
        "name": family,
        "description": (
            f"One model served by {len(rows)} free routes; requests spread across them by "
            "remaining free budget, with fallback."
        ),
        "category": family_category(row["category"] for row in rows),
        "provider": "openprovider",
        "family": family,
        "context_length": _smallest(row["context_length"] for row in rows),
        "max_output_tokens": _smallest(row["max_output_tokens"] for row in rows),
        "capabilities": shared_capabilities([row["capabilities"] or {} for row in rows]),
        "voices": [],
        "free_evidence": "Every route is a free model of this workspace.",
        "limits": {},
    }
    routes = [
        (row["credential_id"], row["upstream_id"], _scope(row), _route_static(row)) for row in rows
    ]
    return entry, routes


def family_groups(
    *, workspace_id: int, family: str | None = None, min_routes: int = MIN_LISTED_ROUTES
) -> list[Group]:
    """The workspace's families (or the one named) of at least `min_routes` routes, by id."""
    rows = active_models(workspace_id=workspace_id).exclude(family="")
    if family is not None:
        rows = rows.filter(family=family)
    by_family: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows.values(*ROUTE_FIELDS):
        by_family[row["family"]].append(row)
    return [
        _group(name, routes)
        for name, routes in sorted(by_family.items())
        if len(routes) >= min_routes
    ]


def family_entries(
    *, workspace_id: int, family: str | None = None, min_routes: int = MIN_LISTED_ROUTES
) -> list[dict[str, Any]]:
    """The families' entries as listed, with fresh route states (uncached: the web pages and
    one family's detail; /v1/models serves catalog.listing_cache's bytes)."""
    groups = family_groups(workspace_id=workspace_id, family=family, min_routes=min_routes)
    if not groups:
        return []
    states = dict(
        ProviderCredential.objects.filter(workspace_id=workspace_id, enabled=True).values_list(
            "pk", "state"
        )
    )
    cooling = cooling_routes((cid, uid) for _, routes in groups for cid, uid, _, _ in routes)
    entries = [
        family_entry(group, lambda cid, uid: route_state(states.get(cid), (cid, uid) in cooling))
        for group in groups
    ]
    return [entry for entry in entries if entry is not None]


def family_detail(*, workspace_id: int, family: str) -> dict[str, Any] | None:
    """One family's entry, whatever its number of routes; None when unknown."""
    found = family_entries(workspace_id=workspace_id, family=family, min_routes=1)
    return found[0] if found else None


def route_state(credential_state: str | None, cooling: bool) -> str:
    """ok, cooling, or the credential's broken state; "disabled" for a disabled credential."""
    if credential_state is None:
        return "disabled"
    if not credential_usable(credential_state):
        return credential_state
    return "cooling" if cooling else "ok"


def capacity(routes: list[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """Summed free requests per minute and per day of the working routes, each budget counted
    once; `unknown` counts working routes with no known limit (the sums leave them out)."""
    seen: set[str] = set()
    total = dict.fromkeys(CAPACITY_LIMITS, 0)
    unknown = 0
    for scope, route in routes:
        limits = route["limits"]
        if not any(isinstance(limits.get(name), int) for name in CAPACITY_LIMITS):
            unknown += 1
        if scope in seen:
            continue
        seen.add(scope)
        for name in CAPACITY_LIMITS:
            value = limits.get(name)
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                total[name] += value
    return {"routes": len(routes), **total, "unknown": unknown}


def capacity_text(capacity: dict[str, Any]) -> str:
    """ "4 routes, ~2,300 requests/day free" (the day budget; the minute one without it)."""
    routes = capacity["routes"]
    text = f"{routes} working route{'s' if routes != 1 else ''}"
    if capacity["rpd"]:
        text += f", ~{capacity['rpd']:,} requests/day free"
    elif capacity["rpm"]:
        text += f", ~{capacity['rpm']:,} requests/minute free"
    return text


def family_entry(group: Group, state_of: Callable[[int, str], str]) -> dict[str, Any] | None:
    """The listed entry with each route's fresh state; None when no route's credential is
    enabled any more."""
    static, group_routes = group
    routes, working = [], []
    for credential_id, upstream_id, scope, route in group_routes:
        # A route's facts that change between renders are added here, next to its state.
        state = state_of(credential_id, upstream_id)
        if state == "disabled":
            continue
        routes.append({**route, "state": state, "working": state == "ok"})
        if state == "ok":
            working.append((scope, route))
    if not routes:
        return None
    return {
        **static,
        "routes": routes,
        "capacity": capacity(working),
        "working": bool(working),
        "pricing": dict(ZERO_PRICING),
    }
