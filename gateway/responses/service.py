"""POST /v1/responses on the chat machinery: one request, routed and logged as a chat request.

The body is translated to a chat request in the chat service's planning step (so a bad body is
logged and answered like a bad chat body, and a stored conversation is read before the DB
connection is let go); candidates, fallback before the first byte, limits, quota routing and
the request log are gateway.chat's. Each candidate is called on chat completions and its
answer translated (gateway.responses.translate), or, where the route serves /responses itself,
relayed untranslated (gateway.responses.passthrough). With `store` (the default) the Response
and its input are kept for the retention period; `store: false` leaves only the log row.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from accounts.models import ApiKey, Workspace
from catalog.models import CatalogModel
from config.infra.dbconnections import release_db_connections
from gateway.api.chat_request import ChatRequest, parse_chat_request
from gateway.api.responses_request import ResponsesRequest, parse_responses_request
from gateway.chat.service import chat_route, complete_on, open_on
from gateway.chat.streaming import ChatFramer, ChatStream, OpenedStream
from gateway.requestlog.services import Status
from gateway.responses import passthrough, translate
from gateway.responses.store import (
    stored_items_resolve,
    stored_response_history,
    stored_response_save,
)
from gateway.routing.candidates import route_adapter
from gateway.routing.context import ChatContext, served_headers
from providers.errors import ProviderError

ENDPOINT = "responses"


@dataclass
class ResponseResult:
    body: dict[str, Any]
    headers: dict[str, str]


class _Plan:
    """One Responses request on the chat machinery: its parse step and its attempts."""

    def __init__(self, workspace: Workspace, payload: Any, *, stream: bool) -> None:
        self.workspace, self.payload, self.stream = workspace, payload, stream
        self.response_id = translate.new_item_id("resp")
        self.history: list[dict[str, Any]] = []
        self._request: ResponsesRequest | None = None

    @property
    def request(self) -> ResponsesRequest:
        if self._request is None:
            raise RuntimeError("the request was not parsed yet")
        return self._request

    def parse(self, payload: Any) -> ChatRequest:
        request = parse_responses_request(payload)
        request.items = stored_items_resolve(workspace=self.workspace, items=request.items)
        previous = request.previous_response_id
        self.history = (
            stored_response_history(workspace=self.workspace, response_id=previous)
            if previous
            else []
        )
        chat_payload = request.chat_payload(self.history)
        if self.stream:
            chat_payload.update(stream=True, stream_options={"include_usage": True})
        self._request = request
        return parse_chat_request(chat_payload)

    @property
    def conversation(self) -> list[dict[str, Any]]:
        """The stored history and this request's items (references resolved), in order."""
        return self.history + self.request.items

    def skeleton(self, model: CatalogModel) -> dict[str, Any]:
        return response_skeleton(
            self.request, self.response_id, model=model.public_id, provider=model.credential.name
        )

    def complete(
        self, ctx: ChatContext, request: ChatRequest, model: CatalogModel
    ) -> tuple[dict[str, Any], dict[str, Any] | None]:
        """One candidate's Response and its usage in the request log's names."""
        if passthrough.serves_responses(model):
            body = passthrough.upstream_body(self.payload, self.conversation, model)
            response = passthrough.response_complete(body, model, self.skeleton(model))
            return response, passthrough.chat_usage(response.get("usage"))
        completion = complete_on(ctx, request, model)
        response = translate.finish_response(
            self.skeleton(model),
            translate.completion_to_output(completion),
            finish_reason=completion["choices"][0]["finish_reason"],
            usage=completion.get("usage"),
        )
        return response, completion.get("usage")

    def open(self, ctx: ChatContext, request: ChatRequest, model: CatalogModel) -> OpenedStream:
        """One candidate's stream read up to its first content; ProviderError if it fails."""
        if not passthrough.serves_responses(model):
            return open_on(ctx, request, model)
        body = passthrough.upstream_body(self.payload, self.conversation, model)
        upstream = route_adapter(model.credential).responses_stream(body)
        relay = passthrough.EventRelay(
            request_id=ctx.request_id,
            created=ctx.created,
            model=model.public_id,
            skeleton=self.skeleton(model),
        )
        buffered: list[dict[str, Any]] = []
        try:
            for raw in upstream:
                buffered.append(relay.feed(raw) or raw)
                if relay.has_content:
                    return OpenedStream(model, upstream, relay, buffered)
        except BaseException:
            upstream.close()
            raise
        raise ProviderError("upstream returned an empty response", kind="empty", retryable=True)

    def store(self, request_id: str, body: dict[str, Any]) -> None:
        if self.request.store:
            stored_response_save(
                workspace=self.workspace, request_id=request_id, body=body, items=self.request.items
            )


def response_create(
    *, workspace: Workspace, api_key: ApiKey | None, request_id: str, payload: Any
) -> ResponseResult:
    plan = _Plan(workspace, payload, stream=False)
    ctx, request, model, (body, usage) = chat_route(
        workspace=workspace,
        api_key=api_key,
        request_id=request_id,
        payload=payload,
        streamed=False,
        endpoint=ENDPOINT,
        parse=plan.parse,
        attempt=plan.complete,
    )
    plan.store(request_id, body)
    estimated = not usage
    if estimated:  # counted with the tokenizer, and the row says so
        usage = request.usage_estimate(output_texts(body))
    ctx.finish(Status.SUCCESS, 200, model=model, usage=usage, usage_estimated=estimated)
    return ResponseResult(body=body, headers=served_headers(model))


def output_texts(response: dict[str, Any]) -> list[str]:
    """What the model wrote in a Response: text, refusals, reasoning, function arguments."""
    texts: list[str] = []
    for item in response.get("output") or []:
        if item.get("type") == "function_call":
            texts.append(f"{item.get('name', '')}{item.get('arguments', '')}")
        for part in item.get("content") or []:
            texts.extend(str(part[key]) for key in ("text", "refusal") if part.get(key))
    return texts


def response_stream(
    *, workspace: Workspace, api_key: ApiKey | None, request_id: str, payload: Any
) -> ChatStream:
    plan = _Plan(workspace, payload, stream=True)
    ctx, request, _, opened = chat_route(
        workspace=workspace,
        api_key=api_key,
        request_id=request_id,
        payload=payload,
        streamed=True,
        endpoint=ENDPOINT,
        parse=plan.parse,
        attempt=plan.open,
    )
    ctx.ttft_ms = ctx.elapsed_ms()
    native = isinstance(opened.normalizer, passthrough.EventRelay)
    framer = NativeFramer(plan) if native else TranslatingFramer(plan)
    return ChatStream(ctx, request, opened, framer)


def response_skeleton(
    request: ResponsesRequest, response_id: str, *, model: str, provider: str
) -> dict[str, Any]:
    """The Response before any output: everything the request fixes (spec-required fields)."""
    return {
        "id": response_id,
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": request.instructions,
        "max_output_tokens": request.max_output_tokens,
        "model": model,
        "provider": provider,
        "output": [],
        "parallel_tool_calls": request.parallel_tool_calls,
        "previous_response_id": request.previous_response_id,
        "reasoning": None,
        "store": request.store,
        "temperature": request.temperature,
        "text": {"format": request.text_format},
        "tool_choice": request.tool_choice,
        "tools": request.tools,
        "top_p": request.top_p,
        "truncation": "disabled",
        "metadata": request.metadata,
    }


def sse_typed_event(event: dict[str, Any]) -> bytes:
    """One typed event, named as OpenAI names it: `event: <type>` then its data line."""
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


def _stream_failure(reason: str) -> str:
    return f"The stream failed after it started: {reason}"


class TranslatingFramer(ChatFramer):
    """The chat relay written as Responses events (no [DONE]: the last event ends it)."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self._translator: translate.StreamTranslator | None = None

    @property
    def translator(self) -> translate.StreamTranslator:
        if self._translator is None:
            raise RuntimeError("the stream was not opened yet")
        return self._translator

    def opened(self, stream: ChatStream) -> Iterator[bytes]:
        self._translator = translate.StreamTranslator(self.plan.skeleton(stream.opened.model))
        yield from map(sse_typed_event, self.translator.started())

    def chunk(self, stream: ChatStream, chunk: dict[str, Any]) -> Iterator[bytes]:
        yield from map(sse_typed_event, self.translator.feed(chunk))

    def ended(self, stream: ChatStream, usage: dict[str, Any]) -> Iterator[bytes]:
        events = list(self.translator.completed(usage))
        self.plan.store(stream.ctx.request_id, self.translator.response)
        release_db_connections()  # the last events may wait on a slow client
        yield from map(sse_typed_event, events)

    def failed(self, stream: ChatStream, reason: str, code: str) -> Iterator[bytes]:
        message = _stream_failure(reason)
        yield from map(sse_typed_event, self.translator.error(code, message))
        yield from map(sse_typed_event, self.translator.failed(message))


class NativeFramer(ChatFramer):
    """An upstream's own events relayed (passthrough.EventRelay already fixed them)."""

    def __init__(self, plan: _Plan) -> None:
        self.plan = plan
        self.sequence = 0

    def chunk(self, stream: ChatStream, chunk: dict[str, Any]) -> Iterator[bytes]:
        yield sse_typed_event(self._numbered(chunk))

    def ended(self, stream: ChatStream, usage: dict[str, Any]) -> Iterator[bytes]:
        relay = stream.opened.normalizer
        if isinstance(relay, passthrough.EventRelay) and relay.final is not None:
            self.plan.store(stream.ctx.request_id, relay.final)
            release_db_connections()
        return iter(())

    def failed(self, stream: ChatStream, reason: str, code: str) -> Iterator[bytes]:
        message = _stream_failure(reason)
        failed = {
            **self.plan.skeleton(stream.opened.model),
            "status": "failed",
            "error": {"code": "server_error", "message": message},
        }
        error = {"type": "error", "code": code, "message": message, "param": None}
        yield sse_typed_event(self._numbered(error))
        yield sse_typed_event(self._numbered({"type": "response.failed", "response": failed}))

    def _numbered(self, event: dict[str, Any]) -> dict[str, Any]:
        """Numbered here, from 0: an upstream that numbers none (or skips) still reads in order."""
        numbered = {**event, "sequence_number": self.sequence}
        self.sequence += 1
        return numbered
