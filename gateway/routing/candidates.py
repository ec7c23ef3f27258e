"""Candidate selection: the ordered routes a chat request may try.

The exact `model` must be an active free model of the caller's workspace; a `models: [...]`
fallback that is not (an unknown id, a model of another category) is skipped, as OpenRouter does.
One known not to support `tools` or `response_format` that the request relies on, or whose
provider refuses a parameter as sent (providers.params), is skipped, and a 400
`unsupported_parameter` answers when none is left (an unknown capability passes through).
A family id (catalog.families: no slash, unlike every route id) stands for all of its routes,
ranked like auto-free's (budget left, health, latency), those that fit the request first.
`openprovider/auto-free` ranks the workspace's working free models KNOWN to support what the
request needs (an unknown capability does not qualify): by recent health, then fit, then
latency, then public id (deterministic).

The model rows behind a choice are cached per process (config.infra.localcache) for
GATEWAY_ROUTE_CACHE_SECONDS under the workspace's catalog version, so a sync, a credential save
or a catalog edit is seen at once on every node and any other change (a credential check moving
its state) within that TTL. Cooldowns are read fresh on every request. Adapters are cached per
credential row version, so a stored key is decrypted once per process, not per request.
"""

import logging
import math
import time
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.db.models import QuerySet

from accounts.models import Workspace
from catalog.listing_cache import catalog_version
from catalog.models import CatalogModel
from catalog.route_health import credential_usable
from catalog.selectors import AUTO_FREE_ID, active_models
from config.infra.localcache import LocalCache
from gateway import metrics
from gateway.api.chat_request import ChatRequest, ProviderPrefs
from gateway.api.errors import ApiError
from gateway.routing.cooldowns import (
    Route,
    breaker_trial_claim,
    broken_many,
    cooldown_until_many,
    health_many,
)
from gateway.routing.quota import budget_scope, room_many, spending_order, spent_until_many
from providers.models import ProviderCredential
from providers.params import refused_param
from providers.registry import PROVIDERS, adapter_for
from providers.spec import ProviderAdapter

AUTO_IDS = frozenset({AUTO_FREE_ID, "auto"})
CHAT_CATEGORIES = (CatalogModel.Category.TEXT, CatalogModel.Category.VISION)
T = TypeVar("T")
logger = logging.getLogger(__name__)

ROUTE_MODELS = LocalCache("route-models", ttl=lambda: settings.GATEWAY_ROUTE_CACHE_SECONDS)
ADAPTERS = LocalCache(
    "adapters", ttl=lambda: settings.GATEWAY_ROUTE_CACHE_SECONDS, max_entries=1024
)


def route_of(model: CatalogModel) -> Route:
    return (model.credential_id, model.upstream_id)


def chat_candidates(*, workspace: Workspace, request: ChatRequest) -> list[CatalogModel]:
    """The routes to try, best first, at most GATEWAY_MAX_ATTEMPTS; raises ApiError otherwise."""
    if request.model in AUTO_IDS:
        candidates = _auto_candidates(workspace, request)
    else:
        candidates = _exact_candidates(workspace, request)
    return without_cooling(candidates)[: settings.GATEWAY_MAX_ATTEMPTS]


def route_adapter(credential: ProviderCredential) -> ProviderAdapter:
    """The credential's adapter, built (and its key decrypted) once per row version."""
    key = (credential.pk, credential.updated_at, credential.provider)
    return ADAPTERS.get_or_set(key, lambda: adapter_for(credential))


def workspace_models(workspace: Workspace) -> QuerySet[CatalogModel]:
    """Only this workspace's models through this workspace's credentials."""
    return (
        active_models(workspace_id=workspace.pk)
        .filter(credential__workspace_id=workspace.pk, provider__in=list(PROVIDERS))
        .select_related("credential")
    )


def is_family_id(model_id: str) -> bool:
    """Route ids are `credential/upstream-id`; family ids never hold a slash."""
    return "/" not in model_id and model_id not in AUTO_IDS


def requested_family(request: ChatRequest, model: CatalogModel) -> str | None:
    """The family the request named that `model` serves it for; None for an exact id."""
    named = {request.model, *request.fallback_models}
    return model.family if model.family and model.family in named else None


def _exact_candidates(workspace: Workspace, request: ChatRequest) -> list[CatalogModel]:
    ids = [request.model, *request.fallback_models]
    if any(public_id in AUTO_IDS for public_id in ids[1:]):
        raise ApiError(
            "Invalid 'models': list exact model ids; the auto route cannot be a fallback.",
            param="models",
        )
    found = exact_models(workspace, [i for i in ids if not is_family_id(i)])
    routes: list[CatalogModel] = []
    for position, public_id in enumerate(ids):
        if position == 0:
            routes += _named_routes(workspace, found, public_id, request, "model")
            continue
        # As OpenRouter does: a fallback that cannot serve (an unknown id, a model of another
        # category) is skipped, never a reason to fail a request whose primary model is valid.
        try:
            routes += _named_routes(workspace, found, public_id, request, "models")
        except ApiError:
            continue
    unique = list({route_of(m): m for m in routes}.values())  # a route named twice: once
    return _allowed_by_prefs(_supporting(unique, request), request.provider)


def _named_routes(
    workspace: Workspace,
    found: dict[str, CatalogModel],
    public_id: str,
    request: ChatRequest,
    param: str,
) -> list[CatalogModel]:
    """The routes one requested id stands for; ApiError when it cannot serve a chat request."""
    if is_family_id(public_id):
        return _family_routes(workspace, public_id, request, param)
    _check_model(found.get(public_id), public_id, param)
    return [found[public_id]]


def family_models(workspace: Workspace, family: str) -> list[CatalogModel]:
    """The workspace's routes of a family (cached, see the module docstring)."""
    return _cached(
        workspace,
        ("family", family),
        lambda: list(workspace_models(workspace).filter(family=family)),
    )


def _family_routes(
    workspace: Workspace, family: str, request: ChatRequest, param: str
) -> list[CatalogModel]:
    """The family's usable chat routes, those that fit the request first, each part ranked."""
    models = [m for m in family_models(workspace, family) if PROVIDERS[m.provider].enabled]
    if not models:
        raise model_not_found(family, param)
    chat = [m for m in models if m.category in CHAT_CATEGORIES]
    if not chat:
        _check_model(models[0], family, param)
    usable = [m for m in chat if credential_usable(m.credential.state)]
    if not usable:
        raise no_model(f"No route of the family '{family}' has a working provider key.")
    if request.needs_vision:
        usable = [m for m in usable if not _known_blind(m)]
        if not usable:
            raise ApiError(
                f"No route of the family '{family}' accepts images.",
                code="model_category_mismatch",
                param=param,
            )
    fitting = [m for m in usable if _fits(m, request)]
    others = [m for m in usable if not _fits(m, request)]
    return ranked(fitting, request) + ranked(others, request)


def exact_models(workspace: Workspace, ids: list[str]) -> dict[str, CatalogModel]:
    """The workspace's models with these public ids (cached, see the module docstring)."""
    wanted = tuple(sorted(set(ids)))
    return _cached(
        workspace,
        ("exact", wanted),
        lambda: {m.public_id: m for m in workspace_models(workspace).filter(public_id__in=wanted)},
    )


def category_models(workspace: Workspace, categories: tuple[str, ...]) -> list[CatalogModel]:
    """The workspace's models in these categories (cached, see the module docstring)."""
    return _cached(
        workspace,
        ("category", categories),
        lambda: list(workspace_models(workspace).filter(category__in=categories)),
    )


def _cached(workspace: Workspace, what: tuple[Any, ...], load: Callable[[], T]) -> T:
    """`load()` cached under the workspace's catalog version; uncached if the cache is down."""
    try:
        version = catalog_version(workspace.pk)
    except Exception:
        logger.warning("catalog version unavailable (cache error); routing from the database")
        return load()
    return ROUTE_MODELS.get_or_set((workspace.pk, version, *what), load)


def model_not_found(public_id: str, param: str) -> ApiError:
    return ApiError(
        f"The model '{public_id}' is not in this workspace's free model registry. "
        "List the available ids with GET /v1/models.",
        status=404,
        code="model_not_found",
        param=param,
    )


def _check_model(model: CatalogModel | None, public_id: str, param: str) -> None:
    if model is None or not PROVIDERS[model.provider].enabled:
        raise model_not_found(public_id, param)
    if model.category not in CHAT_CATEGORIES:
        raise ApiError(
            f"The model '{public_id}' is a {model.category} model; "
            "/v1/chat/completions needs a text or vision model.",
            status=400,
            code="model_category_mismatch",
            param=param,
        )


def _auto_candidates(workspace: Workspace, request: ChatRequest) -> list[CatalogModel]:
    working = [
        model
        for model in category_models(workspace, CHAT_CATEGORIES)
        if credential_usable(model.credential.state) and PROVIDERS[model.provider].enabled
    ]
    fitting = [m for m in working if _fits(m, request)]
    candidates = _allowed_by_prefs(ranked(fitting, request), request.provider)
    if not candidates:
        raise no_model(_why_nothing_fits(working, request))
    return candidates


def _capabilities(model: CatalogModel) -> dict[str, Any]:
    return model.capabilities if isinstance(model.capabilities, dict) else {}


def _known_unsupported(model: CatalogModel, request: ChatRequest) -> str | None:
    """The request parameter this model is KNOWN (false, not unknown) not to support, or its
    provider refuses as sent (providers.params: `n` > 1, log probabilities)."""
    capabilities = _capabilities(model)
    if request.needs_tools and capabilities.get("tools") is False:
        return "tools"
    if request.needs_structured_output and capabilities.get("structured_output") is False:
        return "response_format"
    return refused_param(model.provider, request.params)


def _supporting(models: list[CatalogModel], request: ChatRequest) -> list[CatalogModel]:
    """Requested models that may serve the request's features, in order; an unknown capability
    is the caller's call (passed through unchanged). Raises 400 when none may: a feature the
    caller relies on is never silently dropped."""
    supporting = [model for model in models if _known_unsupported(model, request) is None]
    if supporting:
        return supporting
    first = models[0]
    param = _known_unsupported(first, request)
    others = " (nor do the fallback models in 'models')" if len(models) > 1 else ""
    if param == refused_param(first.provider, request.params):
        reason = (
            f"The provider of the model '{first.public_id}' ({PROVIDERS[first.provider].name}) "
            f"cannot honour '{param}' as sent{others}. Remove '{param}' or choose a model of a "
            "provider that honours it (README: parameters each provider honours)."
        )
    else:
        reason = (
            f"The model '{first.public_id}' does not support '{param}'{others}. Remove "
            f"'{param}' or choose a model that supports it (GET /v1/models lists capabilities)."
        )
    raise ApiError(reason, status=400, code="unsupported_parameter", param=param)


def _known_blind(model: CatalogModel) -> bool:
    """A text model whose listing says it does not see images."""
    return (
        model.category != CatalogModel.Category.VISION
        and _capabilities(model).get("vision") is False
    )


def _fits_features(model: CatalogModel, request: ChatRequest) -> bool:
    capabilities = _capabilities(model)
    if request.needs_vision and not (
        model.category == CatalogModel.Category.VISION or capabilities.get("vision")
    ):
        return False
    if request.needs_tools and capabilities.get("tools") is not True:
        return False
    if request.needs_structured_output and capabilities.get("structured_output") is not True:
        return False
    if refused_param(model.provider, request.params) is not None:
        return False
    return not (request.stream and capabilities.get("streaming") is False)


def _fits_context(model: CatalogModel, request: ChatRequest) -> bool:
    if not model.context_length:
        return True
    needed = request.prompt_tokens_estimate() + request.max_output_tokens
    return needed <= model.context_length


def _fits(model: CatalogModel, request: ChatRequest) -> bool:
    return _fits_features(model, request) and _fits_context(model, request)


def _why_nothing_fits(models: list[CatalogModel], request: ChatRequest) -> str:
    kind = "vision" if request.needs_vision else "text"
    features = [
        name
        for name, needed in (
            ("tools", request.needs_tools),
            ("structured output", request.needs_structured_output),
        )
        if needed
    ]
    wanted = f"no free {kind} model" + (f" with {' and '.join(features)}" if features else "")
    refusals = [refused_param(m.provider, request.params) for m in models]
    if models and all(refusals):
        wanted += f" whose provider honours {', '.join(sorted(map(repr, set(refusals))))} as sent"
    if any(_fits_features(m, request) for m in models):
        needed = request.prompt_tokens_estimate() + request.max_output_tokens
        wanted += f" with a context window of {needed} tokens"
    return f"No available model: {wanted} is working in this workspace."


def ranked(models: list[CatalogModel], request: ChatRequest) -> list[CatalogModel]:
    """Most budget left first (see quota.spending_order), then health, then latency.

    A route never tried counts as healthy and fast, so it gets its first call instead of
    waiting behind every tried route forever."""
    health = health_many([route_of(m) for m in models])
    room = room_many(models)
    wanted = CatalogModel.Category.VISION if request.needs_vision else CatalogModel.Category.TEXT

    def rank(model: CatalogModel) -> tuple[int, float, float, int, float, str]:
        stats = health.get(route_of(model)) or {}
        ok, fail = int(stats.get("ok") or 0), int(stats.get("fail") or 0)
        score = round((ok + 1) / (ok + fail + 2), 1) if ok + fail else 1.0  # coarse: peers tie
        latency = float(stats.get("latency_ms") or 0.0)
        tier, share = spending_order(room.get(budget_scope(model), {}))
        category = 0 if model.category == wanted else 1
        return (tier, share, -score, category, latency, model.public_id)

    return sorted(models, key=rank)


def _named(model: CatalogModel, names: tuple[str, ...]) -> bool:
    return model.credential.name in names or model.provider in names


def _allowed_by_prefs(models: list[CatalogModel], prefs: ProviderPrefs) -> list[CatalogModel]:
    """The models the request's `provider` settings allow; a 400 if they exclude every one (the
    same request can never succeed, so a 503 would only be retried)."""
    allowed = _apply_provider_prefs(models, prefs)
    if models and not allowed:
        raise ApiError(
            "Invalid 'provider': its settings exclude every provider that serves the requested "
            "model.",
            code="no_allowed_provider",
            param="provider",
        )
    return allowed


def _apply_provider_prefs(models: list[CatalogModel], prefs: ProviderPrefs) -> list[CatalogModel]:
    if prefs.only:
        models = [m for m in models if _named(m, prefs.only)]
    models = [m for m in models if not _named(m, prefs.ignore)]
    if prefs.order:
        position = {name: i for i, name in reversed(list(enumerate(prefs.order)))}

        def order(model: CatalogModel) -> int:
            return min(
                position.get(model.credential.name, len(prefs.order)),
                position.get(model.provider, len(prefs.order)),
            )

        models = sorted(models, key=order)
        if not prefs.allow_fallbacks:
            models = [m for m in models if _named(m, prefs.order)]
    elif not prefs.allow_fallbacks:
        models = models[:1]
    return models


def without_cooling(models: list[CatalogModel]) -> list[CatalogModel]:
    """The routes neither cooling down nor known to have spent their budget."""
    routes = [route_of(m) for m in models]
    cooling = cooldown_until_many(routes)
    broken = broken_many(routes)
    for route in set(broken) - set(cooling):  # half-open: one request tries it
        if not breaker_trial_claim(route):
            cooling[route] = time.time() + 1.0
    spent = spent_until_many(models)
    blocked = {
        route_of(m): max(cooling.get(route_of(m), 0.0), spent.get(budget_scope(m), 0.0))
        for m in models
    }
    ready = [m for m in models if not blocked[route_of(m)]]
    metrics.record_budget_skips(sum(1 for m in models if budget_scope(m) in spent))
    if models and not ready:
        if all(route in broken for route in routes):
            raise upstream_unavailable(models, broken)
        raise RoutesCooling(min(blocked.values()))
    return ready


def upstream_unavailable(models: list[CatalogModel], reasons: dict[Route, str]) -> ApiError:
    """Every candidate's upstream is down (an outage, not a rate limit): 503 naming why."""
    named = "; ".join(f"{m.public_id}: {reasons[route_of(m)]}" for m in models)
    seconds = str(math.ceil(settings.GATEWAY_BREAKER_TRIAL_SECONDS))
    return ApiError(
        f"Every candidate's upstream is unavailable ({named}).",
        status=503,
        code="upstream_unavailable",
        headers={"Retry-After": seconds},
    )


def rate_limited_upstream(wait_seconds: float, message: str) -> ApiError:
    """429 with Retry-After ≤ 60 (the OpenAI SDK's retry logic) and the exact reset time."""
    retry_after = str(min(max(math.ceil(wait_seconds), 1), 60))
    reset_at = time.time() + max(wait_seconds, 0.0)
    reset = time.strftime("%H:%M:%S UTC", time.gmtime(reset_at))
    return ApiError(
        f"{message} The earliest route frees up at {reset}; retry after {retry_after} s.",
        status=429,
        code="rate_limited_upstream",
        headers={"Retry-After": retry_after, "x-ratelimit-reset": str(math.ceil(reset_at))},
    )


class RoutesCooling(ApiError):
    """Every candidate is cooling down or spent until `until` (unix time): a 429 unless the
    request may wait for it (gateway.routing.hold)."""

    def __init__(self, until: float) -> None:
        self.until = until
        self.wait_seconds = until - time.time()
        self.waited = 0.0
        error = rate_limited_upstream(
            self.wait_seconds, "Every candidate model is cooling down after upstream limits."
        )
        super().__init__(
            error.message, status=429, code="rate_limited_upstream", headers=error.headers
        )


def no_model(message: str) -> ApiError:
    return ApiError(message, status=503, code="no_available_model", headers={"Retry-After": "30"})
