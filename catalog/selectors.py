"""Reads of the free-model registry: listings, single models, provider status."""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db.models import Count, Q, QuerySet

from catalog.models import CatalogModel, HeldCatalogChange, SyncRun
from catalog.overrides import credential_limits
from catalog.route_health import cooling_routes, credential_usable, route_cooling_down
from providers.models import ProviderCredential
from providers.registry import PROVIDERS, documented_limits

AUTO_FREE_ID = "openprovider/auto-free"
AUTO_CATEGORY = "auto"
ZERO_PRICING = {"prompt": "0", "completion": "0", "request": "0", "image": "0"}
_AUTO_CREATED = 1767225600  # 2026-01-01: a fixed date, so the auto entry sorts stably
AUTO_STATIC_ENTRY: dict[str, Any] = {
    "id": AUTO_FREE_ID,
    "object": "model",
    "created": _AUTO_CREATED,
    "owned_by": "openprovider",
    "name": "Auto (free)",
    "description": "Routes each request to a working free model that fits it, with fallback.",
    "category": AUTO_CATEGORY,
    "provider": "openprovider",
    "context_length": None,
    "max_output_tokens": None,
    "capabilities": {},
    "voices": [],
    "free_evidence": "Only free models of this workspace are candidates.",
    "limits": {},
}

LISTING_FIELDS = (
    "public_id",
    "upstream_id",
    "credential_id",
    "credential__name",
    "credential__state",
    "provider",
    "name",
    "description",
    "category",
    "family",
    "context_length",
    "max_output_tokens",
    "capabilities",
    "voices",
    "free_evidence",
    "first_seen",
)


def active_models(
    *, workspace_id: int, category: str | None = None, provider: str | None = None
) -> QuerySet[CatalogModel]:
    """The workspace's callable free models: active, not hidden, through an enabled credential."""
    models = CatalogModel.objects.filter(
        workspace_id=workspace_id, is_active=True, hidden=False, credential__enabled=True
    )
    if category:
        models = models.filter(category=category)
    if provider:
        models = models.filter(Q(provider=provider) | Q(credential__name=provider))
    return models.order_by("public_id")


def catalog_model_get(*, workspace_id: int, public_id: str) -> CatalogModel | None:
    return (
        active_models(workspace_id=workspace_id)
        .select_related("credential")
        .filter(public_id=public_id)
        .first()
    )


def model_entry(row: dict[str, Any], *, working: bool) -> dict[str, Any]:
    """One model in the OpenAI list shape plus the OpenProvider fields."""
    return {**static_entry(row), "working": working, "pricing": dict(ZERO_PRICING)}


def static_entry(row: dict[str, Any]) -> dict[str, Any]:
    """The fields of a listing entry that only change with the catalog version."""
    return {
        "id": row["public_id"],
        "object": "model",
        "created": int(row["first_seen"].timestamp()),
        "owned_by": row["credential__name"],
        "name": row["name"] or row["upstream_id"],
        "description": row["description"],
        "category": row["category"],
        "provider": row["provider"],
        # The family id that also routes to this model (catalog.families); null for none.
        "family": row["family"] or None,
        "context_length": row["context_length"],
        "max_output_tokens": row["max_output_tokens"],
        "capabilities": row["capabilities"],
        "voices": row["voices"],
        "free_evidence": row["free_evidence"],
        # The provider's documented free-tier limits (registry row), as OpenRouter shows its
        # free-tier limits; usually per account, not per model: every model shares them.
        "limits": documented_limits(row["provider"]),
    }


def model_detail(model: CatalogModel) -> dict[str, Any]:
    row = {field: getattr(model, field, None) for field in LISTING_FIELDS}
    row["credential__name"] = model.credential.name
    working = credential_usable(model.credential.state) and not route_cooling_down(
        model.credential_id, model.upstream_id
    )
    return model_entry(row, working=working)


def auto_entry(*, working: bool) -> dict[str, Any]:
    return {**AUTO_STATIC_ENTRY, "working": working, "pricing": dict(ZERO_PRICING)}


def any_model_working(*, workspace_id: int) -> bool:
    """Whether the auto route has at least one working candidate."""
    routes = [
        (credential_id, upstream_id)
        for credential_id, upstream_id, state in active_models(
            workspace_id=workspace_id
        ).values_list("credential_id", "upstream_id", "credential__state")
        if credential_usable(state)
    ]
    return len(cooling_routes(routes)) < len(routes)


def auto_route_filters(category: str | None, provider: str | None) -> tuple[bool, bool]:
    """(the listing is the auto route only, the auto route is listed) for these filters."""
    only_auto = category == AUTO_CATEGORY or provider == "openprovider"
    listed = category in (None, AUTO_CATEGORY) and provider in (None, "openprovider")
    return only_auto, listed


def catalog_listing(
    *,
    workspace_id: int,
    category: str | None = None,
    provider: str | None = None,
    working: bool | None = None,
) -> list[dict[str, Any]]:
    """The /v1/models entries as dicts (uncached; the API serves catalog.listing_cache's bytes)."""
    only_auto, auto_listed = auto_route_filters(category, provider)
    rows = active_models(
        workspace_id=workspace_id,
        category=None if only_auto else category,
        provider=None if only_auto else provider,
    ).values(*LISTING_FIELDS)
    rows = list(rows)
    cooling = cooling_routes((row["credential_id"], row["upstream_id"]) for row in rows)
    entries = [
        model_entry(
            row,
            working=credential_usable(row["credential__state"])
            and (row["credential_id"], row["upstream_id"]) not in cooling,
        )
        for row in rows
    ]
    if auto_listed:
        auto = auto_entry(working=any(entry["working"] for entry in entries))
        entries = [auto] if only_auto else [auto, *entries]
    elif only_auto:
        entries = []
    if working is not None:
        entries = [entry for entry in entries if entry["working"] is working]
    return entries


def _model_counts(workspace_id: int) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (
        CatalogModel.objects.filter(workspace_id=workspace_id, is_active=True, hidden=False)
        .values("credential_id", "category")
        .annotate(n=Count("id"))
    )
    for row in rows:
        counts[row["credential_id"]][row["category"]] = row["n"]
    return counts


def _timestamp(value: Any) -> int | None:
    return int(value.timestamp()) if value else None


def _held_reviews(workspace_id: int) -> dict[int, dict[str, int]]:
    """credential id -> the counts of its sync change waiting for review."""
    rows = HeldCatalogChange.objects.filter(credential__workspace_id=workspace_id).values(
        "credential_id", "active_before", "would_remove", "would_add"
    )
    return {
        row["credential_id"]: {
            "active_before": row["active_before"],
            "would_remove": row["would_remove"],
            "would_add": row["would_add"],
        }
        for row in rows
    }


def _credential_status(
    credential: ProviderCredential, counts: dict[str, int], review: dict[str, int] | None
) -> dict[str, Any]:
    spec = PROVIDERS.get(credential.provider)
    return {
        "name": credential.name,
        "provider": credential.provider,
        "provider_name": spec.name if spec else credential.provider,
        "enabled": credential.enabled,
        "state": credential.state,
        "state_message": credential.state_message,
        "checked_at": _timestamp(credential.checked_at),
        "latency_ms": credential.check_latency_ms,
        "last_sync_at": _timestamp(credential.last_sync_at),
        "last_sync_error": credential.last_sync_error,
        "stale": bool(credential.last_sync_error),  # the models listed are from an earlier sync
        "needs_review": review,  # a held sync change (catalog.services), or None
        "models": {**counts, "total": sum(counts.values())},
        "limits": credential_limits(credential),
    }


def _last_sync_run(workspace_id: int, names: set[str]) -> dict[str, Any] | None:
    run = SyncRun.objects.filter(workspace_id=workspace_id).order_by("-started_at", "-pk").first()
    if run is None:
        return None
    results = run.results if isinstance(run.results, dict) else {}
    return {
        "id": run.pk,
        "trigger": run.trigger,
        "status": run.status,
        "started_at": _timestamp(run.started_at),
        "finished_at": _timestamp(run.finished_at),
        "results": {name: value for name, value in results.items() if name in names},
    }


def last_sync_results(*, workspace_id: int, names: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Each named credential's result in the newest sync run that covered it (a workspace has
    few credentials: one query each, for the provider setup page)."""
    found = {}
    for name in names:
        run = (
            SyncRun.objects.filter(workspace_id=workspace_id, results__has_key=name)
            .order_by("-started_at", "-pk")
            .only("results")
            .first()
        )
        if run is not None and isinstance(run.results.get(name), dict):
            found[name] = run.results[name]
    return found


def provider_status(*, workspace_id: int) -> dict[str, Any]:
    """Each credential of the workspace with its state, sync health and model counts."""
    credentials = list(ProviderCredential.objects.filter(workspace_id=workspace_id))
    counts, reviews = _model_counts(workspace_id), _held_reviews(workspace_id)
    return {
        "object": "list",
        "data": [
            _credential_status(c, counts.get(c.pk, {}), reviews.get(c.pk)) for c in credentials
        ],
        "last_sync_run": _last_sync_run(workspace_id, {c.name for c in credentials}),
    }


def sync_candidates(
    *, workspace_id: int | None = None, provider: str | None = None
) -> list[ProviderCredential]:
    """Enabled credentials of providers still offering a free tier, grouped by workspace."""
    credentials = ProviderCredential.objects.filter(enabled=True, workspace__is_active=True)
    if workspace_id is not None:
        credentials = credentials.filter(workspace_id=workspace_id)
    if provider:
        credentials = credentials.filter(Q(provider=provider) | Q(name=provider))
    return [
        credential
        for credential in credentials.order_by("workspace_id", "name")
        if credential.provider in PROVIDERS and PROVIDERS[credential.provider].enabled
    ]


def check_candidates(
    *, workspace_id: int | None = None, state: str | None = None
) -> list[ProviderCredential]:
    credentials = ProviderCredential.objects.filter(enabled=True, workspace__is_active=True)
    if workspace_id is not None:
        credentials = credentials.filter(workspace_id=workspace_id)
    if state is not None:
        credentials = credentials.filter(state=state)
    return [c for c in credentials.order_by("workspace_id", "name") if c.provider in PROVIDERS]
