"""Shared plumbing of the media workflows: who asks, routing by category, the logged request.

Candidates come from gateway.routing.candidates (the workspace's active free models, ranked by
health and latency, cooling routes skipped) filtered to the endpoint's category; exact ids must
exist (404) and suit the endpoint (400 model_category_mismatch). Every request writes one
request-log row at its start and updates it once at its end, whatever happens in between.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings

from accounts.models import ApiKey, Workspace
from catalog.models import CatalogModel
from catalog.route_health import credential_usable
from catalog.selectors import AUTO_FREE_ID
from gateway.api.chat_request import ChatRequest
from gateway.api.errors import ApiError, api_error_for_exception
from gateway.requestlog.services import Status, request_log_start
from gateway.routing.candidates import (
    AUTO_IDS,
    category_models,
    exact_models,
    model_not_found,
    no_model,
    ranked,
    without_cooling,
)
from gateway.routing.context import ChatContext
from providers.registry import PROVIDERS

# Ranks media routes the way chat ranks them (health, then latency, then id) with no needs.
NEUTRAL_REQUEST = ChatRequest(model=AUTO_FREE_ID, fallback_models=[], messages=[])
T = TypeVar("T")


@dataclass(frozen=True)
class Caller:
    """Who is asking: the workspace, its key and the request id the log row is keyed by."""

    workspace: Workspace
    api_key: ApiKey | None
    request_id: str
    source: str = "api"


@dataclass
class MediaResult:
    """A JSON body (images, analysis, embeddings), raw audio or text (transcripts in text, srt
    and vtt), with the served-model headers."""

    headers: dict[str, str]
    body: dict[str, Any] = field(default_factory=dict)
    audio: bytes = b""
    text: str | None = None
    content_type: str = "application/json"


@dataclass(frozen=True)
class Endpoint:
    """A media endpoint: its request-log name, its path, and the models it can use."""

    name: str
    path: str
    needs: str
    fits: Callable[[CatalogModel], bool]
    category: str


def exact_model(workspace: Workspace, public_id: str, endpoint: Endpoint) -> CatalogModel:
    """The workspace's model with this id: 404 if unknown, 400 if the endpoint cannot use it."""
    model = exact_models(workspace, [public_id]).get(public_id)
    if model is None or not PROVIDERS[model.provider].enabled:
        raise model_not_found(public_id, "model")
    if not endpoint.fits(model):
        raise ApiError(
            f"The model '{public_id}' is a {model.category} model; "
            f"{endpoint.path} needs {endpoint.needs}.",
            status=400,
            code="model_category_mismatch",
            param="model",
        )
    return model


def media_candidates(workspace: Workspace, model_id: str, endpoint: Endpoint) -> list[CatalogModel]:
    """The routes to try, best first, at most GATEWAY_MAX_ATTEMPTS; ApiError if none."""
    if model_id in AUTO_IDS:
        working = [
            model
            for model in category_models(workspace, (endpoint.category,))
            if credential_usable(model.credential.state) and PROVIDERS[model.provider].enabled
        ]
        if not working:
            raise no_model(f"No available model: no free {endpoint.category} model is working.")
        candidates = ranked(working, NEUTRAL_REQUEST)
    else:
        candidates = [exact_model(workspace, model_id, endpoint)]
    return without_cooling(candidates)[: settings.GATEWAY_MAX_ATTEMPTS]


def auto_alias(model_id: str, openai_names: frozenset[str]) -> str:
    """OpenAI's own model names (dall-e-3, tts-1…) mean "any free model" here."""
    return AUTO_FREE_ID if model_id in openai_names else model_id


def logged_call(
    caller: Caller,
    endpoint: Endpoint,
    payload: Any,
    work: Callable[[ChatContext], tuple[CatalogModel, T, dict[str, Any] | None]],
) -> tuple[CatalogModel, T, ChatContext]:
    """Run `work` between the request log's start and its one final update."""
    model_id = payload.get("model") if isinstance(payload, dict) else None
    request_log_start(
        request_id=caller.request_id,
        workspace=caller.workspace,
        api_key=caller.api_key,
        endpoint=endpoint.name,
        requested_model=model_id if isinstance(model_id, str) else "",
        streamed=False,
        source=caller.source,
    )
    ctx = ChatContext(request_id=caller.request_id)
    try:
        model, result, usage = work(ctx)
    except Exception as exc:
        error = api_error_for_exception(exc)
        ctx.finish(Status.ERROR, error.status_code, error_code=error.code)
        if error is exc:
            raise
        raise error from exc
    ctx.finish(Status.SUCCESS, 200, model=model, usage=usage)
    return model, result, ctx
