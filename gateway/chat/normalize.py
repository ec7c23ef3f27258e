"""Upstream answers in the exact OpenAI shape clients parse (CLIENTS.md A.2 #9-#15).

The request id, the public model id and one `created` replace the upstream's; content arrays
(Mistral) become strings with thinking parts moved to `reasoning`; finish reasons are mapped to
the five OpenAI values; usage is kept aside so a stream can send it exactly once.
"""

import json
from typing import Any

from providers.errors import ProviderError

FINISH_REASONS = frozenset({"stop", "length", "tool_calls", "content_filter", "function_call"})
FINISH_ALIASES = {
    "max_tokens": "length",
    "model_length": "length",
    "tool_use": "tool_calls",
    "safety": "content_filter",
    "recitation": "content_filter",
    "blocklist": "content_filter",
}


def finish_reason(value: Any, *, tool_calls: bool = False) -> str | None:
    """One of the OpenAI values, or None; an `error` finish is an upstream failure."""
    if not value:
        return None
    reason = str(value).lower()
    if reason == "error":
        raise ProviderError("upstream stream failed: error finish", kind="upstream", retryable=True)
    reason = reason if reason in FINISH_REASONS else FINISH_ALIASES.get(reason, "stop")
    return "tool_calls" if tool_calls and reason == "stop" else reason


def split_content(content: Any) -> tuple[str, str]:
    """(text, reasoning) from a string or a list of typed parts."""
    if isinstance(content, str):
        return content, ""
    if not isinstance(content, list):
        return "", ""
    text, reasoning = [], []
    for part in content:
        if not isinstance(part, dict):
            continue
        if part.get("type") == "text" and isinstance(part.get("text"), str):
            text.append(part["text"])
        elif part.get("type") == "thinking":
            reasoning.append(split_content(part.get("thinking"))[0])
    return "".join(text), "".join(reasoning)


def usage_of(data: dict[str, Any]) -> dict[str, Any] | None:
    usage = data.get("usage")
    if not isinstance(usage, dict):
        return None
    counts = {
        name: usage[name]
        for name in ("prompt_tokens", "completion_tokens", "total_tokens")
        if isinstance(usage.get(name), int)
    }
    if not counts:
        return None
    counts.setdefault("prompt_tokens", 0)
    counts.setdefault("completion_tokens", 0)
    counts.setdefault("total_tokens", counts["prompt_tokens"] + counts["completion_tokens"])
    for name in ("prompt_tokens_details", "completion_tokens_details"):
        if isinstance(usage.get(name), dict):
            counts[name] = usage[name]
    return counts


def completion_body(
    data: dict[str, Any], *, request_id: str, created: int, model: str, provider: str
) -> dict[str, Any]:
    """A chat.completion; raises ProviderError for no choices or an empty completion."""
    raw_choices = data.get("choices")
    if not isinstance(raw_choices, list) or not raw_choices:
        raise ProviderError("upstream sent no choices", kind="invalid_response", retryable=True)
    choices = [
        _choice(choice, position, request_id)
        for position, choice in enumerate(raw_choices)
        if isinstance(choice, dict)
    ]
    if not any(c["message"]["content"] or c["message"].get("tool_calls") for c in choices):
        raise ProviderError("upstream returned an empty completion", kind="empty", retryable=True)
    body = {
        "id": request_id,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "provider": provider,
        "choices": choices,
    }
    if fingerprint := fingerprint_of(data):
        body["system_fingerprint"] = fingerprint
    usage = usage_of(data)
    if usage:
        body["usage"] = usage
    return body


def fingerprint_of(data: dict[str, Any]) -> str:
    """The upstream's system_fingerprint, or "": OpenAI's schema allows a string or no key,
    never null."""
    value = data.get("system_fingerprint")
    return value if isinstance(value, str) else ""


def _choice(choice: dict[str, Any], position: int, request_id: str) -> dict[str, Any]:
    raw = given if isinstance(given := choice.get("message"), dict) else {}
    text, reasoning = split_content(raw.get("content"))
    tool_calls = [
        tool_call(call, i, request_id)
        for i, call in enumerate(raw.get("tool_calls") or [])
        if isinstance(call, dict)
    ]
    message: dict[str, Any] = {
        "role": "assistant",
        "content": text or (None if tool_calls else ""),
        "refusal": raw.get("refusal") if isinstance(raw.get("refusal"), str) else None,
    }
    if tool_calls:
        message["tool_calls"] = tool_calls
    reasoning = reasoning or _reasoning_of(raw)
    if reasoning:
        message["reasoning"] = reasoning
    return {
        "index": choice.get("index") if isinstance(choice.get("index"), int) else position,
        "message": message,
        "finish_reason": finish_reason(choice.get("finish_reason"), tool_calls=bool(tool_calls))
        or ("tool_calls" if tool_calls else "stop"),
        "logprobs": choice.get("logprobs") if isinstance(choice.get("logprobs"), dict) else None,
    }


def tool_call(call: dict[str, Any], position: int, request_id: str) -> dict[str, Any]:
    """A complete tool call; ids are made up when a provider (Gemini) leaves them empty."""
    function = found if isinstance(found := call.get("function"), dict) else {}
    return {
        "id": call.get("id") or f"call_{request_id[-12:]}_{position}",
        "type": "function",
        "function": {
            "name": str(function.get("name") or ""),
            "arguments": _arguments(function.get("arguments")),
        },
    }


def _arguments(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def completion_texts(body: dict[str, Any]) -> list[str]:
    """What a normalized chat.completion's choices wrote: text, reasoning, tool calls."""
    texts = []
    for choice in body.get("choices") or []:
        message = choice.get("message") or {}
        texts += [message.get("content") or "", message.get("reasoning") or ""]
        texts += [_call_text(call) for call in message.get("tool_calls") or []]
    return [text for text in texts if text]


def _call_text(call: dict[str, Any]) -> str:
    function = call.get("function") or {}
    return str(function.get("name") or "") + str(function.get("arguments") or "")


def _reasoning_of(raw: dict[str, Any]) -> str:
    for name in ("reasoning", "reasoning_content"):
        if isinstance(raw.get(name), str) and raw[name]:
            return raw[name]
    return ""


class ChunkNormalizer:
    """Turns upstream chunks into OpenAI chunks for one candidate; tracks content and usage."""

    def __init__(
        self, *, request_id: str, created: int, model: str, family: str | None = None
    ) -> None:
        self.request_id, self.created, self.model = request_id, created, model
        self.family = family  # the family the request named, when it named one
        self.usage: dict[str, Any] | None = None
        self.has_content = False
        # What the model wrote (text, reasoning, tool calls): counted when no usage arrives.
        self.completion_texts: list[str] = []
        self.fingerprint = ""
        self._role_sent: set[int] = set()
        self._finished: set[int] = set()
        self._tool_indexes: set[int] = set()

    def feed(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        """The chunk to send for this upstream chunk, or None when it carries nothing."""
        self.usage = usage_of(raw) or self.usage
        self.fingerprint = self.fingerprint or fingerprint_of(raw)
        choices = [
            choice
            for position, raw_choice in enumerate(raw.get("choices") or [])
            if isinstance(raw_choice, dict) and (choice := self._choice(raw_choice, position))
        ]
        for choice in choices:  # the first delta of each choice carries the role, once
            if choice["index"] not in self._role_sent:
                choice["delta"] = {"role": "assistant", **choice["delta"]}
                self._role_sent.add(choice["index"])
        return self.chunk(choices) if choices else None

    def chunk(self, choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        chunk = {
            "id": self.request_id,
            "object": "chat.completion.chunk",
            "created": self.created,
            "model": self.model,
            "choices": choices,
            **({"family": self.family} if self.family else {}),
            **extra,
        }
        if self.fingerprint:
            chunk["system_fingerprint"] = self.fingerprint
        return chunk

    def _choice(self, raw: dict[str, Any], position: int) -> dict[str, Any] | None:
        index = given if isinstance(given := raw.get("index"), int) else position
        delta = self._delta(found if isinstance(found := raw.get("delta"), dict) else {})
        if "tool_calls" in delta:
            self._tool_indexes.add(index)
        reason = finish_reason(raw.get("finish_reason"), tool_calls=index in self._tool_indexes)
        if index in self._finished:
            reason = None  # some providers repeat the finish chunk
        elif reason:
            self._finished.add(index)
        if not delta and not reason:
            return None
        logprobs = raw.get("logprobs") if isinstance(raw.get("logprobs"), dict) else None
        return {"index": index, "delta": delta, "finish_reason": reason, "logprobs": logprobs}

    def _delta(self, raw: dict[str, Any]) -> dict[str, Any]:
        text, reasoning = split_content(raw.get("content"))
        delta: dict[str, Any] = {}
        if text:
            delta["content"] = text
        reasoning = reasoning or _reasoning_of(raw)
        if reasoning:
            delta["reasoning"] = reasoning
        calls = [self._tool_delta(c, i) for i, c in enumerate(raw.get("tool_calls") or [])]
        if calls:
            delta["tool_calls"] = calls
        self.completion_texts.extend(t for t in (text, reasoning, *map(_call_text, calls)) if t)
        for name in ("refusal", "function_call"):
            if raw.get(name):
                delta[name] = raw[name]
        self.has_content = self.has_content or bool(text or calls or raw.get("refusal"))
        return delta

    def _tool_delta(self, call: Any, position: int) -> dict[str, Any]:
        call = call if isinstance(call, dict) else {}
        index = call.get("index") if isinstance(call.get("index"), int) else position
        out: dict[str, Any] = {"index": index}
        function = found if isinstance(found := call.get("function"), dict) else {}
        if call.get("id") or function.get("name"):
            out["id"] = call.get("id") or f"call_{self.request_id[-12:]}_{index}"
            out["type"] = "function"
        fn: dict[str, Any] = {}
        if function.get("name"):
            fn["name"] = function["name"]
        if "arguments" in function:
            fn["arguments"] = _arguments(function["arguments"])
        if fn:
            out["function"] = fn
        return out
