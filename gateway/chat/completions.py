"""Legacy completions (/v1/completions) served by the chat workflow.

Free tiers serve chat models, and few of them a native `/completions`, so every legacy request
is translated onto chat completions (gateway.api.completion_request): the prompt is one user
message, the answer's message content becomes `choices[].text`. Routing, fallback, quota, the
request log (endpoint `completions`) and the stream relay are chat's own; only the shapes
change: `text_completion` objects, streamed as `text_completion` chunks.
"""

from typing import Any

from gateway.api.chat_request import ChatRequest, parse_chat_request
from gateway.api.completion_request import chat_payload
from gateway.chat.service import Dialect
from gateway.chat.streaming import ShapedFramer

OBJECT = "text_completion"


def completion_from_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A chat.completion as a text_completion."""
    completion = {
        "id": body["id"],
        "object": OBJECT,
        "created": body["created"],
        "model": body["model"],
        "provider": body["provider"],
        "choices": [
            {
                "index": choice["index"],
                "text": choice["message"].get("content") or "",
                "finish_reason": choice["finish_reason"],
                "logprobs": None,
            }
            for choice in body["choices"]
        ],
    }
    if "usage" in body:
        completion["usage"] = body["usage"]
    return completion


def chunk_from_chat(chunk: dict[str, Any]) -> dict[str, Any] | None:
    """A chat.completion.chunk as a text_completion chunk; None when it carries nothing (a
    role-only or reasoning delta)."""
    choices = [
        {
            "index": choice["index"],
            "text": choice["delta"].get("content") or "",
            "finish_reason": choice["finish_reason"],
            "logprobs": None,
        }
        for choice in chunk["choices"]
    ]
    choices = [c for c in choices if c["text"] or c["finish_reason"]]
    if not choices and "usage" not in chunk:
        return None
    shaped = {
        "id": chunk["id"],
        "object": OBJECT,
        "created": chunk["created"],
        "model": chunk["model"],
        "choices": choices,
    }
    if "usage" in chunk:
        shaped["usage"] = chunk["usage"]
    return shaped


def parse_completion_request(payload: object) -> ChatRequest:
    """The legacy body as the chat request it is served as."""
    return parse_chat_request(chat_payload(payload))


COMPLETIONS = Dialect(
    endpoint="completions",
    parse=parse_completion_request,
    answer=completion_from_chat,
    framer=ShapedFramer(chunk_from_chat),
)
