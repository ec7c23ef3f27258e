"""The chat console's answer: streamed as the web app's own small SSE protocol, or in one piece.

Events, each `data: <json>\\n\\n`:
  {"type": "start", "conversation": id, "url": str, "title": str, "request_id": str}
  {"type": "served", "model": str, "provider": str}      once the answering model is known
  {"type": "delta", "text": str}                        text as it arrives (render it as text)
  {"type": "done", "message": {...}}                    the saved message, with sanitized HTML

The assistant message is saved when the answer ends, whatever way it ends: complete, or
incomplete when the stream broke, errored or the browser stopped it (the server then closes
this generator and the `finally` saves what arrived).
"""

import json
from collections.abc import Iterator
from typing import Any

from django.urls import reverse

from accounts.models import Conversation, Message, Workspace
from gateway.api.errors import ApiError
from gateway.chat.conversations import AssistantReply, assistant_message_save
from gateway.chat.service import chat_complete, chat_stream
from gateway.chat.streaming import ChatStream
from gateway.requestlog.services import request_log_get
from gateway.routing.context import PUBLIC_ATTEMPT_KEYS

from .markdown import markdown_html

SSE_PREFIX = b"data: "
KEEPALIVE = b": keep-alive\n\n"


def event(data: dict[str, Any]) -> bytes:
    return SSE_PREFIX + json.dumps(data, separators=(",", ":")).encode() + b"\n\n"


def message_json(message: Message) -> dict[str, Any]:
    """A saved assistant message as the page shows it; `html` is sanitized."""
    failed = message.status == Message.Status.ERROR
    return {
        "id": message.pk,
        "status": message.status,
        "html": "" if failed else str(markdown_html(message.content)),
        "error": message.content if failed else "",
        "model": message.model_id,
        "provider": message.provider,
        "attempts": message.attempts,
        "request_id": message.request_id,
    }


def _start_event(conversation: Conversation, request_id: str) -> bytes:
    return event(
        {
            "type": "start",
            "conversation": conversation.pk,
            "url": reverse("chat-conversation", args=[conversation.pk]),
            "title": conversation.title,
            "request_id": request_id,
        }
    )


def _failure(error: ApiError, request_id: str) -> AssistantReply:
    attempts = error.extra.get("attempts") if isinstance(error.extra, dict) else None
    return AssistantReply(
        content=error.message,
        status=Message.Status.ERROR,
        request_id=request_id,
        attempts=list(attempts or []),
    )


def _parse(raw: bytes) -> tuple[str, str]:
    """(text, error message) carried by one relayed /v1 event."""
    if not raw.startswith(SSE_PREFIX) or raw.strip() == b"data: [DONE]":
        return "", ""
    chunk = json.loads(raw[len(SSE_PREFIX) :])
    if "error" in chunk:
        return "", str(chunk["error"].get("message") or "The stream failed.")
    text = "".join(
        choice.get("delta", {}).get("content") or "" for choice in chunk.get("choices") or []
    )
    return text, ""


def chat_events(
    *, workspace: Workspace, conversation: Conversation, request_id: str, payload: dict[str, Any]
) -> Iterator[bytes]:
    """The streamed answer; the assistant message is saved however the stream ends."""
    yield _start_event(conversation, request_id)
    try:
        stream = chat_stream(
            workspace=workspace,
            api_key=None,
            request_id=request_id,
            payload=payload,
            source="web",
        )
    except ApiError as error:
        message = assistant_message_save(
            conversation=conversation, reply=_failure(error, request_id)
        )
        yield event({"type": "done", "message": message_json(message)})
        return
    yield from _relay(conversation, stream, request_id)


def _relay(conversation: Conversation, stream: ChatStream, request_id: str) -> Iterator[bytes]:
    served = stream.opened.model
    reply = AssistantReply(
        status=Message.Status.INCOMPLETE,
        model_id=served.public_id,
        provider=served.credential.name,
        request_id=request_id,
    )
    parts: list[str] = []
    failed = False
    try:
        yield event({"type": "served", "model": reply.model_id, "provider": reply.provider})
        for raw in stream:
            if raw.startswith(b":"):
                yield KEEPALIVE
                continue
            text, error = _parse(raw)
            failed = failed or bool(error)
            if text:
                parts.append(text)
                yield event({"type": "delta", "text": text})
        if not failed:
            reply.status = Message.Status.COMPLETE
    finally:
        stream.close()
        reply.content = "".join(parts)
        reply.attempts = stream.ctx.public_attempts()
        message = assistant_message_save(conversation=conversation, reply=reply)
    yield event({"type": "done", "message": message_json(message)})


def chat_answer(
    *, workspace: Workspace, conversation: Conversation, request_id: str, payload: dict[str, Any]
) -> Message:
    """The whole answer in one call (the console without JavaScript); saved either way."""
    try:
        result = chat_complete(
            workspace=workspace,
            api_key=None,
            request_id=request_id,
            payload=payload,
            source="web",
        )
    except ApiError as error:
        return assistant_message_save(conversation=conversation, reply=_failure(error, request_id))
    log = request_log_get(workspace=workspace, request_id=request_id)
    attempts = log.attempts if log else []
    reply = AssistantReply(
        content=result.body["choices"][0]["message"].get("content") or "",
        model_id=result.body.get("model", ""),
        provider=result.body.get("provider", ""),
        request_id=request_id,
        attempts=[{key: a.get(key) for key in PUBLIC_ATTEMPT_KEYS} for a in attempts],
    )
    return assistant_message_save(conversation=conversation, reply=reply)
