"""POST /v1/responses on the chat machinery: one request, routed and logged as a chat request.

The body is translated to a chat request inside the chat service's planning step (so a bad
body is logged and answered like a bad chat body, and a stored conversation is read before
the DB connection is let go); candidates, fallback, limits, quota routing and the request log
are gateway.chat's. The chat answer, or its normalized chunks, come back as a Response object
or typed events. With `store` (the default) the Response and its input are kept for the
retention period; `store: false` leaves nothing but the request-log row.
"""

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from accounts.models import ApiKey, Workspace
from config.infra.dbconnections import release_db_connections
from gateway.api.chat_request import ChatRequest, parse_chat_request
from gateway.api.responses_request import ResponsesRequest, parse_responses_request
from gateway.chat.service import chat_complete, chat_stream
from gateway.chat.streaming import ChatFramer, ChatStream
from gateway.responses import translate
from gateway.responses.store import stored_response_history, stored_response_save

ENDPOINT = "responses"


@dataclass
class ResponseResult:
    body: dict[str, Any]
    headers: dict[str, str]


class _Plan:
    """The chat service's parse step for a Responses body; keeps what it parsed."""

    def __init__(self, workspace: Workspace, stream: bool) -> None:
        self.workspace, self.stream = workspace, stream
        self._request: ResponsesRequest | None = None

    @property
    def request(self) -> ResponsesRequest:
        if self._request is None:
            raise RuntimeError("the request was not parsed yet")
        return self._request

    def parse(self, payload: Any) -> ChatRequest:
        request = parse_responses_request(payload)
        history = (
            stored_response_history(
                workspace=self.workspace, response_id=request.previous_response_id
            )
            if request.previous_response_id
            else []
        )
        chat_payload = request.chat_payload(history)
        if self.stream:
            chat_payload.update(stream=True, stream_options={"include_usage": True})
        self._request = request
        return parse_chat_request(chat_payload)

    def skeleton(self, model: str, provider: str) -> dict[str, Any]:
        return response_skeleton(self.request, model=model, provider=provider)


def response_create(
    *, workspace: Workspace, api_key: ApiKey | None, request_id: str, payload: Any
) -> ResponseResult:
    plan = _Plan(workspace, stream=False)
    result = chat_complete(
        workspace=workspace,
        api_key=api_key,
        request_id=request_id,
        payload=payload,
        endpoint=ENDPOINT,
        parse=plan.parse,
    )
    completion = result.body
    body = translate.finish_response(
        plan.skeleton(completion["model"], completion["provider"]),
        translate.completion_to_output(completion),
        finish_reason=completion["choices"][0]["finish_reason"],
        usage=completion.get("usage"),
    )
    _store(plan, workspace, request_id, body)
    return ResponseResult(body=body, headers=result.headers)


def response_stream(
    *, workspace: Workspace, api_key: ApiKey | None, request_id: str, payload: Any
) -> ChatStream:
    plan = _Plan(workspace, stream=True)
    return chat_stream(
        workspace=workspace,
        api_key=api_key,
        request_id=request_id,
        payload=payload,
        endpoint=ENDPOINT,
        parse=plan.parse,
        framer=ResponsesFramer(plan, workspace),
    )


def response_skeleton(request: ResponsesRequest, *, model: str, provider: str) -> dict[str, Any]:
    """The Response before any output: everything the request fixes (spec-required fields)."""
    return {
        "id": translate.new_item_id("resp"),
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


def _store(plan: _Plan, workspace: Workspace, request_id: str, body: dict[str, Any]) -> None:
    if plan.request.store:
        stored_response_save(
            workspace=workspace, request_id=request_id, body=body, items=plan.request.items
        )


def sse_typed_event(event: dict[str, Any]) -> bytes:
    """One typed event, named as OpenAI names it: `event: <type>` then its data line."""
    return b"event: " + event["type"].encode() + b"\ndata: " + orjson.dumps(event) + b"\n\n"


class ResponsesFramer(ChatFramer):
    """Writes the chat relay as Responses events (no [DONE]: the stream ends after the last)."""

    def __init__(self, plan: _Plan, workspace: Workspace) -> None:
        self.plan, self.workspace = plan, workspace
        self._translator: translate.StreamTranslator | None = None

    @property
    def translator(self) -> translate.StreamTranslator:
        if self._translator is None:
            raise RuntimeError("the stream was not opened yet")
        return self._translator

    def opened(self, stream: ChatStream) -> Iterator[bytes]:
        model = stream.opened.model
        self._translator = translate.StreamTranslator(
            self.plan.skeleton(model.public_id, model.credential.name)
        )
        yield from map(sse_typed_event, self.translator.started())

    def chunk(self, stream: ChatStream, chunk: dict[str, Any]) -> Iterator[bytes]:
        yield from map(sse_typed_event, self.translator.feed(chunk))

    def ended(self, stream: ChatStream, usage: dict[str, Any]) -> Iterator[bytes]:
        events = list(self.translator.completed(usage))
        _store(self.plan, self.workspace, stream.ctx.request_id, self.translator.response)
        release_db_connections()  # the last events may wait on a slow client
        yield from map(sse_typed_event, events)

    def failed(self, stream: ChatStream, reason: str, code: str) -> Iterator[bytes]:
        message = f"The stream failed after it started: {reason}"
        yield from map(sse_typed_event, self.translator.error(code, message))
        yield from map(sse_typed_event, self.translator.failed(message))
