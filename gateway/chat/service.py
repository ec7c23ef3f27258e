"""Chat completions with fallback: the service behind /v1/chat/completions and the web console.

Candidates are tried in order (gateway.routing.fallback) until one answers. A failure (429, 5xx,
timeout, connection error, in-stream error, empty completion) before anything reached the client
is recorded and the next candidate is tried, within GATEWAY_MAX_ATTEMPTS and
GATEWAY_TOTAL_DEADLINE_SECONDS. A 400 caused by the request itself is returned normalized, never
retried elsewhere.

Streams commit late on purpose: the candidates' chunks are read here, before any byte goes out,
until real content (text, a tool call, a refusal) arrives; role-only, empty and reasoning chunks
are buffered. Only then is the stream handed back, so a failure before content still falls back,
and when every candidate fails the caller answers with a JSON error, not a 200.
The trade-off: nothing, not even a keep-alive, reaches the client while the first token is
awaited (the status line is not decided yet); keep-alives start once the stream is committed.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from accounts.models import ApiKey, Workspace
from catalog.models import CatalogModel
from config.infra.dbconnections import release_db_connections
from gateway.api.chat_request import ChatRequest, parse_chat_request, upstream_payload
from gateway.api.errors import ApiError, api_error_for_exception
from gateway.chat.normalize import ChunkNormalizer, completion_body, completion_texts
from gateway.chat.streaming import ChatFramer, ChatStream, OpenedStream
from gateway.requestlog.services import Status, request_log_start
from gateway.routing.candidates import (
    RoutesCooling,
    chat_candidates,
    requested_family,
    route_adapter,
)
from gateway.routing.context import ChatContext, served_headers
from gateway.routing.fallback import run_with_fallback
from gateway.routing.hold import held
from providers.errors import ProviderError

ENDPOINT = "chat/completions"

T = TypeVar("T")
# Turns the request body into the chat request to route; another API (gateway.responses)
# passes its own, which translates its body first.
Parse = Callable[[Any], ChatRequest]


@dataclass
class ChatResult:
    body: dict[str, Any]
    headers: dict[str, str]


@dataclass(frozen=True)
class Dialect:
    """Another route served by this workflow (gateway.chat.completions): its request-log
    endpoint, how its body becomes the chat request (run inside the logged request, so a 400 is
    logged too), the rewrite of the answer, and how its stream goes on the wire."""

    endpoint: str = ENDPOINT
    parse: Parse = parse_chat_request
    answer: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    framer: ChatFramer | None = None


CHAT = Dialect()


def chat_complete(
    *,
    workspace: Workspace,
    api_key: ApiKey | None,
    request_id: str,
    payload: Any,
    source: str = "api",
    dialect: Dialect = CHAT,
) -> ChatResult:
    """A non-streamed completion; raises ApiError (the request log is finalized either way)."""
    ctx, request, model, body = chat_route(
        workspace=workspace,
        api_key=api_key,
        request_id=request_id,
        payload=payload,
        source=source,
        streamed=False,
        attempt=complete_on,
        endpoint=dialect.endpoint,
        parse=dialect.parse,
    )
    usage = body.get("usage") or request.usage_estimate(completion_texts(body))
    ctx.finish(Status.SUCCESS, 200, model=model, usage=usage, usage_estimated="usage" not in body)
    answer = body if dialect.answer is None else dialect.answer(body)
    return ChatResult(body=answer, headers=served_headers(model))


def chat_stream(
    *,
    workspace: Workspace,
    api_key: ApiKey | None,
    request_id: str,
    payload: Any,
    source: str = "api",
    dialect: Dialect = CHAT,
) -> ChatStream:
    """A committed stream (its first content already read), or ApiError before any byte."""
    ctx, request, _, opened = chat_route(
        workspace=workspace,
        api_key=api_key,
        request_id=request_id,
        payload=payload,
        source=source,
        streamed=True,
        attempt=open_on,
        endpoint=dialect.endpoint,
        parse=dialect.parse,
    )
    ctx.ttft_ms = ctx.elapsed_ms()
    return ChatStream(ctx, request, opened, framer=dialect.framer)


def chat_route(
    *,
    workspace: Workspace,
    api_key: ApiKey | None,
    request_id: str,
    payload: Any,
    streamed: bool,
    attempt: Callable[[ChatContext, ChatRequest, CatalogModel], T],
    source: str = "api",
    endpoint: str = ENDPOINT,
    parse: Parse = parse_chat_request,
) -> tuple[ChatContext, ChatRequest, CatalogModel, T]:
    """Log the request's start, plan it and run `attempt` over its candidates until one serves.

    The caller finishes the log row on success; any failure before a byte went out is logged
    here and raised as the ApiError to answer with. Other APIs on the chat machinery
    (gateway.responses) pass their own `parse` and `attempt`.
    """
    ctx = _start(workspace, api_key, request_id, payload, source, endpoint, streamed=streamed)
    request, model, result = _route(ctx, workspace, payload, parse, attempt)
    return ctx, request, model, result


def _start(
    workspace: Workspace,
    api_key: ApiKey | None,
    request_id: str,
    payload: Any,
    source: str,
    endpoint: str,
    *,
    streamed: bool,
) -> ChatContext:
    model = payload.get("model") if isinstance(payload, dict) else None
    request_log_start(
        request_id=request_id,
        workspace=workspace,
        api_key=api_key,
        endpoint=endpoint,
        requested_model=model if isinstance(model, str) else "",
        streamed=streamed,
        source=source,
    )
    return ChatContext(request_id=request_id)


def _plan(
    workspace: Workspace, payload: Any, parse: Parse
) -> tuple[ChatRequest, list[CatalogModel]]:
    """Validate and pick candidates, then let go of the DB connection before calling upstream."""
    request = parse(payload)
    candidates = chat_candidates(workspace=workspace, request=request)
    release_db_connections()
    return request, candidates


def complete_on(ctx: ChatContext, request: ChatRequest, model: CatalogModel) -> dict[str, Any]:
    """One candidate's completion, normalized; ProviderError if it fails."""
    body = upstream_payload(request, upstream_id=model.upstream_id, model=model)
    data = route_adapter(model.credential).chat(body)
    completion = completion_body(
        data,
        request_id=ctx.request_id,
        created=ctx.created,
        model=model.public_id,
        provider=model.credential.name,
    )
    family = requested_family(request, model)
    return {**completion, "family": family} if family else completion


def open_on(ctx: ChatContext, request: ChatRequest, model: CatalogModel) -> OpenedStream:
    """Read one candidate's stream up to its first content; ProviderError if it fails first."""
    body = upstream_payload(request, upstream_id=model.upstream_id, model=model)
    upstream = route_adapter(model.credential).chat_stream(body)
    normalizer = ChunkNormalizer(
        request_id=ctx.request_id,
        created=ctx.created,
        model=model.public_id,
        family=requested_family(request, model),
    )
    buffered: list[dict[str, Any]] = []
    try:
        for raw in upstream:
            chunk = normalizer.feed(raw)
            if chunk is not None:
                buffered.append(chunk)
            if normalizer.has_content:
                return OpenedStream(model, upstream, normalizer, buffered)
    except BaseException:
        upstream.close()
        raise
    raise ProviderError("upstream returned an empty completion", kind="empty", retryable=True)


def _route(
    ctx: ChatContext,
    workspace: Workspace,
    payload: Any,
    parse: Parse,
    attempt: Callable[[ChatContext, ChatRequest, CatalogModel], T],
) -> tuple[ChatRequest, CatalogModel, T]:
    """Plan the request and run `attempt` over its candidates until one serves.

    Any failure before a byte went out is logged and raised as the ApiError to answer with.
    """
    try:
        request, candidates = _held_plan(ctx, workspace, payload, parse)
        model, result = run_with_fallback(ctx, candidates, lambda m: attempt(ctx, request, m))
    except Exception as exc:
        error = _failed(ctx, exc)
        if error is exc:
            raise
        raise error from exc
    return request, model, result


def _held_plan(
    ctx: ChatContext, workspace: Workspace, payload: Any, parse: Parse
) -> tuple[ChatRequest, list[CatalogModel]]:
    """Plan, waiting briefly when every route frees up soon; the wait is logged once."""
    try:
        planned, waited = held(lambda: _plan(workspace, payload, parse), started=ctx.started)
    except RoutesCooling as refused:
        if refused.waited:
            ctx.record_hold(refused.waited, served=False)
        raise
    if waited:
        ctx.record_hold(waited, served=True)
    return planned


def _failed(ctx: ChatContext, exc: Exception) -> ApiError:
    """Log a request that ended before any byte went out; the ApiError to answer with."""
    error = api_error_for_exception(exc)
    ctx.finish(Status.ERROR, error.status_code, error_code=error.code)
    return error
