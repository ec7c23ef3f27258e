"""Route quotas in words for the Models and Provider setup pages: "12 of 50 left today, resets
00:00 UTC", "cooling until 10:41:07 UTC (minute limit)"."""

from datetime import datetime, timedelta
from typing import Any

from accounts.models import Workspace
from catalog.models import CatalogModel
from gateway.routing.candidates import route_of
from gateway.routing.quota_view import listed_models, route_quotas
from providers.ratelimits import DAY, MINUTE

KINDS = {MINUTE: "minute limit", DAY: "day limit", "unknown": "rate limited, kind unknown"}
SPANS = {
    MINUTE: "this minute",
    DAY: "today",
    f"tokens_{MINUTE}": "tokens this minute",
    f"tokens_{DAY}": "tokens today",
}
KEY_STATES = {
    "auth_failed": "the key failed authentication",
    "payment_required": "the provider wants payment (free tier used up)",
    "retired": "the provider or its API is gone",
    "unreadable": "the stored key cannot be decrypted",
    "down": "the provider is down",
}


def quota_words(quota: dict[str, Any]) -> dict[str, Any]:
    """{state, lines}: the state first (nothing when ok), then each known budget."""
    lines = [_state_line(quota)] if quota["state"] != "ok" else []
    lines += [_budget_line(name, quota[name]) for name in SPANS if quota.get(name)]
    if quota.get("shared") and len(lines) > (quota["state"] != "ok"):
        lines.append("shared by every model of this key")
    return {"state": quota["state"], "lines": lines}


def workspace_quota_words(workspace: Workspace, ids: list[str]) -> dict[str, dict[str, Any]]:
    """public id -> quota_words for the workspace's models with these ids (one cache read)."""
    by_id = listed_models(workspace)
    models = [by_id[public_id] for public_id in ids if public_id in by_id]
    quotas = route_quotas(models)
    return {m.public_id: quota_words(quotas[route_of(m)]) for m in models}


def credential_quota_words(workspace: Workspace) -> dict[int, list[dict[str, Any]]]:
    """credential id -> [{model, state, lines}] of its models, those not ok first."""
    models: list[CatalogModel] = list(listed_models(workspace).values())
    quotas = route_quotas(models)
    rows: dict[int, list[dict[str, Any]]] = {}
    for model in models:
        row = {"model": model.public_id, **quota_words(quotas[route_of(model)])}
        rows.setdefault(model.credential_id, []).append(row)
    for routes in rows.values():
        routes.sort(key=lambda row: row["state"] == "ok")
    return rows


def _state_line(quota: dict[str, Any]) -> str:
    state, until = quota["state"], _clock(quota.get("until"))
    if state == "cooling":
        return f"cooling until {until} ({KINDS.get(quota.get('kind') or '', 'limit')})"
    if state == "parked":
        return f"parked until {until}: repeated bare 429s, the day budget looks spent"
    if state == "breaker_open":
        return f"upstream failing ({quota.get('reason')}): next try at {until}"
    if state == "breaker_half_open":
        return f"upstream failing ({quota.get('reason')}): one trial request is due"
    return KEY_STATES.get(state, f"key state: {state}")


def _budget_line(name: str, window: dict[str, Any]) -> str:
    limit, remaining = window.get("limit"), window.get("remaining")
    if remaining is None:
        text = f"limit {limit} {SPANS[name]}" if limit else f"budget {SPANS[name]}"
    elif limit:
        text = f"{remaining} of {limit} left {SPANS[name]}"
    else:
        text = f"{remaining} left {SPANS[name]}"
    resets = _clock(window.get("resets_at"))
    return f"{text}, resets {resets}" if resets else text


def _clock(iso: str | None) -> str:
    """10:41:07 UTC, or 00:00 UTC on the minute; with the date when it is a day or more away."""
    if not iso:
        return ""
    when = datetime.fromisoformat(iso)
    text = when.strftime("%H:%M" if when.second == 0 else "%H:%M:%S")
    if when - datetime.now(when.tzinfo) >= timedelta(days=1):
        text = f"{when:%Y-%m-%d} {text}"
    return f"{text} UTC"
