"""Responses <-> chat completions, both directions, table-driven.

Requests: each input item type has one row in ITEM_TO_MESSAGES and each content part type one
row in PART_TO_CHAT; built-in tools and item types without a row are refused with a 400
`unsupported_parameter` naming the item. Answers: a normalized chat completion becomes output
items (reasoning, message, function calls, in that order); a stream of normalized chat chunks
becomes the typed events of OpenAI's ResponseStreamEvent, each with its `sequence_number`.
Shapes follow OpenAI's published schemas (openai/openai-openapi: Response, OutputItem,
ResponseStreamEvent): required fields present, no null where the spec allows none.
"""

import secrets
import time
from collections.abc import Callable, Iterator
from copy import deepcopy
from typing import Any

from gateway.api.errors import ApiError

Item = dict[str, Any]
Message = dict[str, Any]

FUNCTION_TOOL = "function"
TOOL_CHOICE_MODES = ("none", "auto", "required")


def unsupported(what: str, param: str) -> ApiError:
    return ApiError(
        f"{what} is not supported by this gateway's /v1/responses.",
        status=400,
        code="unsupported_parameter",
        param=param,
    )


def invalid(param: str, reason: str) -> ApiError:
    return ApiError(
        f"Invalid '{param}': {reason}.", status=400, code="invalid_request", param=param
    )


def new_item_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(16)}"


# ---- request: Responses items -> chat messages ------------------------------------------------
def _text_part(part: dict[str, Any], param: str) -> dict[str, Any]:
    text = part.get("text")
    if not isinstance(text, str):
        raise invalid(f"{param}.text", "expected a string")
    return {"type": "text", "text": text}


def _refusal_part(part: dict[str, Any], param: str) -> dict[str, Any]:
    refusal = part.get("refusal")
    if not isinstance(refusal, str):
        raise invalid(f"{param}.refusal", "expected a string")
    return {"type": "text", "text": refusal}


def _image_part(part: dict[str, Any], param: str) -> dict[str, Any]:
    url = part.get("image_url")
    if part.get("file_id") and not url:
        raise unsupported("An input_image by file_id", f"{param}.file_id")
    if not isinstance(url, str) or not url:
        raise invalid(f"{param}.image_url", "expected a URL")
    image = {"url": url}
    if part.get("detail") in ("low", "high", "auto"):
        image["detail"] = part["detail"]
    return {"type": "image_url", "image_url": image}


PART_TO_CHAT: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "input_text": _text_part,
    "output_text": _text_part,
    "text": _text_part,
    "refusal": _refusal_part,
    "input_image": _image_part,
}


def _content(content: Any, param: str) -> str | list[dict[str, Any]]:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise invalid(param, "expected a string or a list of content parts")
    parts = []
    for index, part in enumerate(content):
        where = f"{param}[{index}]"
        kind = part.get("type") if isinstance(part, dict) else None
        convert = PART_TO_CHAT.get(kind) if isinstance(kind, str) else None
        if convert is None:
            if not isinstance(part, dict):
                raise invalid(where, "expected an object")
            raise unsupported(f"The content part type '{kind}'", f"{where}.type")
        parts.append(convert(part, where))
    if all(p["type"] == "text" for p in parts):
        return "\n".join(p["text"] for p in parts)
    return parts


def _message_item(item: Item, param: str, messages: list[Message]) -> None:
    role = item.get("role")
    if role not in ("user", "assistant", "system", "developer"):
        raise invalid(f"{param}.role", "expected user, assistant, system or developer")
    content = _content(item.get("content"), f"{param}.content")
    if role == "assistant" and not isinstance(content, str):
        raise invalid(f"{param}.content", "an assistant message holds text only")
    messages.append({"role": "system" if role == "developer" else role, "content": content})


def _function_call_item(item: Item, param: str, messages: list[Message]) -> None:
    name, call_id = item.get("name"), item.get("call_id")
    if not isinstance(name, str) or not name:
        raise invalid(f"{param}.name", "expected a function name")
    if not isinstance(call_id, str) or not call_id:
        raise invalid(f"{param}.call_id", "expected a string")
    arguments = item.get("arguments")
    call = {
        "id": call_id,
        "type": "function",
        "function": {"name": name, "arguments": arguments if isinstance(arguments, str) else ""},
    }
    previous = messages[-1] if messages else None
    if previous is not None and previous["role"] == "assistant":  # one turn, several calls
        previous.setdefault("tool_calls", []).append(call)
        return
    messages.append({"role": "assistant", "content": None, "tool_calls": [call]})


def _function_call_output_item(item: Item, param: str, messages: list[Message]) -> None:
    call_id = item.get("call_id")
    if not isinstance(call_id, str) or not call_id:
        raise invalid(f"{param}.call_id", "expected a string")
    output = _content(item.get("output"), f"{param}.output")
    if not isinstance(output, str):
        raise unsupported("An image in a function_call_output", f"{param}.output")
    messages.append({"role": "tool", "tool_call_id": call_id, "content": output})


def _dropped_item(item: Item, param: str, messages: list[Message]) -> None:
    """Reasoning from an earlier turn: chat upstreams take no reasoning input."""


ITEM_TO_MESSAGES: dict[str, Callable[[Item, str, list[Message]], None]] = {
    "message": _message_item,
    "function_call": _function_call_item,
    "function_call_output": _function_call_output_item,
    "reasoning": _dropped_item,
}


ITEM_REFERENCE = "item_reference"  # resolved from stored responses before translation


def _reference_or_none(item: Item) -> str | None:
    return ITEM_REFERENCE if "id" in item else None


def input_items(value: Any) -> list[Item]:
    """The request's `input` as a list of items (a string is one user message)."""
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    if not isinstance(value, list) or not value:
        raise invalid("input", "expected a string or a non-empty list of items")
    items = []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            raise invalid(f"input[{index}]", "expected an object")
        kind = item.get("type") or ("message" if "role" in item else _reference_or_none(item))
        if kind == ITEM_REFERENCE:
            if not isinstance(item.get("id"), str) or not item["id"]:
                raise invalid(f"input[{index}].id", "expected an item id")
        elif kind not in ITEM_TO_MESSAGES:
            raise unsupported(f"The input item type '{kind}'", f"input[{index}].type")
        items.append({**item, "type": kind})
    return items


def items_to_messages(items: list[Item], param: str = "input") -> list[Message]:
    messages: list[Message] = []
    for index, item in enumerate(items):
        ITEM_TO_MESSAGES[item["type"]](item, f"{param}[{index}]", messages)
    return messages


def _function_tool(tool: dict[str, Any], param: str) -> dict[str, Any]:
    name = tool.get("name")
    if not isinstance(name, str) or not name:
        raise invalid(f"{param}.name", "expected a function name")
    function: dict[str, Any] = {"name": name}
    for key in ("description", "parameters", "strict"):
        if tool.get(key) is not None:
            function[key] = tool[key]
    return {"type": "function", "function": function}


def tools_to_chat(tools: list[Any]) -> list[dict[str, Any]]:
    """Function tools in the chat shape; any built-in tool is a 400 naming it."""
    chat_tools = []
    for index, tool in enumerate(tools):
        param = f"tools[{index}]"
        if not isinstance(tool, dict):
            raise invalid(param, "expected an object")
        kind = tool.get("type")
        if kind != FUNCTION_TOOL:
            raise unsupported(f"The built-in tool '{kind}'", f"{param}.type")
        chat_tools.append(_function_tool(tool, param))
    return chat_tools


def tool_choice_to_chat(choice: Any) -> Any:
    if isinstance(choice, str):
        if choice not in TOOL_CHOICE_MODES:
            raise invalid("tool_choice", "expected none, auto or required")
        return choice
    if not isinstance(choice, dict):
        raise invalid("tool_choice", "expected a string or an object")
    if choice.get("type") != FUNCTION_TOOL:
        raise unsupported(f"The tool_choice type '{choice.get('type')}'", "tool_choice.type")
    if not isinstance(choice.get("name"), str):
        raise invalid("tool_choice.name", "expected a function name")
    return {"type": "function", "function": {"name": choice["name"]}}


def _json_schema_format(fmt: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(fmt.get("schema"), dict):
        raise invalid("text.format.schema", "expected an object")
    if not isinstance(fmt.get("name"), str) or not fmt["name"]:
        raise invalid("text.format.name", "expected a name")
    schema = {key: fmt[key] for key in ("name", "schema", "description", "strict") if key in fmt}
    return {"type": "json_schema", "json_schema": schema}


FORMAT_TO_CHAT: dict[str, Callable[[dict[str, Any]], dict[str, Any] | None]] = {
    "text": lambda fmt: None,
    "json_object": lambda fmt: {"type": "json_object"},
    "json_schema": _json_schema_format,
}


def format_to_chat(fmt: dict[str, Any]) -> dict[str, Any] | None:
    convert = FORMAT_TO_CHAT.get(fmt.get("type"))  # type: ignore[arg-type]
    if convert is None:
        raise invalid("text.format.type", "expected text, json_object or json_schema")
    return convert(fmt)


# ---- answers: a chat completion -> output items -----------------------------------------------
def reasoning_item(text: str, *, item_id: str, status: str = "completed") -> Item:
    content = [{"type": "reasoning_text", "text": text}] if text else []
    return {"type": "reasoning", "id": item_id, "summary": [], "content": content, "status": status}


def text_part(text: str) -> dict[str, Any]:
    return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}


def refusal_part(text: str) -> dict[str, Any]:
    return {"type": "refusal", "refusal": text}


def message_item(parts: list[dict[str, Any]], *, item_id: str, status: str = "completed") -> Item:
    return {
        "type": "message",
        "id": item_id,
        "status": status,
        "role": "assistant",
        "content": parts,
    }


def function_call_item(
    *, item_id: str, call_id: str, name: str, arguments: str, status: str = "completed"
) -> Item:
    return {
        "type": "function_call",
        "id": item_id,
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def completion_to_output(completion: dict[str, Any]) -> list[Item]:
    """The output items of a normalized chat completion's first choice."""
    message = completion["choices"][0]["message"]
    output: list[Item] = []
    if message.get("reasoning"):
        output.append(reasoning_item(message["reasoning"], item_id=new_item_id("rs")))
    parts = [text_part(message["content"])] if message.get("content") else []
    if message.get("refusal"):
        parts.append(refusal_part(message["refusal"]))
    if parts:
        output.append(message_item(parts, item_id=new_item_id("msg")))
    for call in message.get("tool_calls") or []:
        function = call["function"]
        output.append(
            function_call_item(
                item_id=new_item_id("fc"),
                call_id=call["id"],
                name=function["name"],
                arguments=function["arguments"],
            )
        )
    return output


INCOMPLETE_REASONS = {"length": "max_output_tokens", "content_filter": "content_filter"}


def outcome(finish_reason: str | None) -> tuple[str, dict[str, str] | None]:
    """(status, incomplete_details) for a chat finish reason."""
    reason = INCOMPLETE_REASONS.get(finish_reason or "")
    return ("incomplete", {"reason": reason}) if reason else ("completed", None)


def usage_to_responses(usage: dict[str, Any] | None) -> dict[str, Any] | None:
    if not usage:
        return None
    prompt = usage.get("prompt_tokens_details") or {}
    completion = usage.get("completion_tokens_details") or {}
    return {
        "input_tokens": usage["prompt_tokens"],
        "input_tokens_details": {
            "cached_tokens": int(prompt.get("cached_tokens") or 0),
            "cache_write_tokens": int(prompt.get("cache_write_tokens") or 0),
        },
        "output_tokens": usage["completion_tokens"],
        "output_tokens_details": {"reasoning_tokens": int(completion.get("reasoning_tokens") or 0)},
        "total_tokens": usage["total_tokens"],
    }


def finish_response(
    response: dict[str, Any],
    output: list[Item],
    *,
    finish_reason: str | None,
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    """The skeleton `response` completed with its output, status and usage."""
    status, incomplete = outcome(finish_reason)
    done = {**response, "status": status, "output": output, "incomplete_details": incomplete}
    if status == "completed":
        done["completed_at"] = int(time.time())
    converted = usage_to_responses(usage)
    if converted:
        done["usage"] = converted
    return done


# ---- streams: chat chunks -> typed events -----------------------------------------------------
class _OpenItem:
    """An output item being streamed: its index, body and the text gathered so far."""

    def __init__(self, output_index: int, item: Item) -> None:
        self.output_index, self.item = output_index, item
        self.text = ""
        self.part: dict[str, Any] | None = None


class StreamTranslator:
    """Normalized chat chunks in, ResponseStreamEvent dicts out, numbered from 0.

    Items open in the order their content arrives (reasoning, text, each tool call) and close
    when the next kind starts or the stream ends; `completed` ends with response.completed (or
    response.incomplete), `failed` with response.failed.
    """

    def __init__(self, response: dict[str, Any]) -> None:
        self.response = response
        self.output: list[Item] = []
        self.finish_reason: str | None = None
        self._sequence = 0
        self._open: _OpenItem | None = None
        self._calls: dict[int, _OpenItem] = {}

    def started(self) -> Iterator[dict[str, Any]]:
        yield self._event("response.created", response=self.response)
        yield self._event("response.in_progress", response=self.response)

    def feed(self, chunk: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for choice in chunk.get("choices") or []:
            if choice.get("index", 0) != 0:
                continue
            delta = choice.get("delta") or {}
            if delta.get("reasoning"):
                yield from self._text("reasoning", delta["reasoning"])
            if delta.get("content"):
                yield from self._text("output_text", delta["content"])
            if delta.get("refusal"):
                yield from self._text("refusal", delta["refusal"])
            for call in delta.get("tool_calls") or []:
                yield from self._tool_call(call)
            self.finish_reason = choice.get("finish_reason") or self.finish_reason

    def completed(self, usage: dict[str, Any] | None) -> Iterator[dict[str, Any]]:
        yield from self._close()
        done = finish_response(
            self.response, self.output, finish_reason=self.finish_reason, usage=usage
        )
        self.response = done
        kind = "response.completed" if done["status"] == "completed" else "response.incomplete"
        yield self._event(kind, response=done)

    def error(self, code: str, message: str) -> Iterator[dict[str, Any]]:
        yield self._event("error", code=code, message=message, param=None)

    def failed(self, message: str) -> Iterator[dict[str, Any]]:
        """The terminal event of a stream that broke: what arrived is kept, `incomplete`."""
        for current in [self._open, *self._calls.values()]:
            if current is None:
                continue
            if current.part is not None:
                current.part[_PART_TEXT[current.part["type"]]] = current.text
                current.item["content"].append(current.part)
            elif current.item["type"] == "function_call":
                current.item["arguments"] = current.text
            current.item["status"] = "incomplete"
        error = {"code": "server_error", "message": message}
        self.response = {**self.response, "status": "failed", "error": error, "output": self.output}
        yield self._event("response.failed", response=self.response)

    # -- items --
    def _text(self, kind: str, text: str) -> Iterator[dict[str, Any]]:
        item_type = "reasoning" if kind == "reasoning" else "message"
        current = self._open
        if current is None or current.item["type"] != item_type:
            yield from self._close()
            current = yield from self._add(
                reasoning_item("", item_id=new_item_id("rs"), status="in_progress")
                if item_type == "reasoning"
                else message_item([], item_id=new_item_id("msg"), status="in_progress")
            )
        if current.part is None or current.part["type"] != _PART_TYPE[kind]:
            yield from self._close_part(current)
            current.part = _EMPTY_PART[kind]()
            yield self._event(
                "response.content_part.added", **self._where(current), part=dict(current.part)
            )
        current.text += text
        yield self._event(_DELTA_EVENT[kind], **self._where(current), delta=text, **_extra(kind))

    def _tool_call(self, call: dict[str, Any]) -> Iterator[dict[str, Any]]:
        index = call.get("index", 0)
        current = self._calls.get(index)
        if current is None:  # calls stay open together: parallel calls may interleave
            yield from self._close_text()
            function = call.get("function") or {}
            current = yield from self._add(
                function_call_item(
                    item_id=new_item_id("fc"),
                    call_id=call.get("id") or new_item_id("call"),
                    name=function.get("name") or "",
                    arguments="",
                    status="in_progress",
                )
            )
            self._calls[index] = current
        fragment = (call.get("function") or {}).get("arguments") or ""
        if fragment:
            current.text += fragment
            yield self._event(
                "response.function_call_arguments.delta",
                item_id=current.item["id"],
                output_index=current.output_index,
                delta=fragment,
            )

    def _add(self, item: Item) -> Any:
        current = _OpenItem(len(self.output), item)
        self.output.append(item)
        if item["type"] != "function_call":
            self._open = current
        yield self._event(
            "response.output_item.added", output_index=current.output_index, item=deepcopy(item)
        )
        return current

    def _close(self) -> Iterator[dict[str, Any]]:
        yield from self._close_text()
        for current in self._calls.values():
            current.item["arguments"] = current.text
            yield self._event(
                "response.function_call_arguments.done",
                item_id=current.item["id"],
                name=current.item["name"],
                output_index=current.output_index,
                arguments=current.text,
            )
            yield from self._item_done(current)
        self._calls = {}

    def _close_text(self) -> Iterator[dict[str, Any]]:
        if self._open is not None:
            current, self._open = self._open, None
            yield from self._close_part(current)
            yield from self._item_done(current)

    def _close_part(self, current: _OpenItem) -> Iterator[dict[str, Any]]:
        part = current.part
        if part is None:
            return
        kind = part["type"]
        part[_PART_TEXT[kind]] = current.text
        where = self._where(current)
        yield self._event(
            _DONE_EVENT[kind], **where, **{_DONE_FIELD[kind]: current.text}, **_extra(kind)
        )
        yield self._event("response.content_part.done", **where, part=part)
        current.item["content"].append(part)
        current.part, current.text = None, ""

    def _item_done(self, current: _OpenItem) -> Iterator[dict[str, Any]]:
        current.item["status"] = "completed"
        yield self._event(
            "response.output_item.done", output_index=current.output_index, item=current.item
        )

    def _where(self, current: _OpenItem) -> dict[str, Any]:
        return {
            "item_id": current.item["id"],
            "output_index": current.output_index,
            "content_index": len(current.item["content"]),
        }

    def _event(self, kind: str, **fields: Any) -> dict[str, Any]:
        event = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return event


# One row per streamed text kind: its part, its delta and done events, the done event's field.
_PART_TYPE = {"reasoning": "reasoning_text", "output_text": "output_text", "refusal": "refusal"}
_EMPTY_PART: dict[str, Callable[[], dict[str, Any]]] = {
    "reasoning": lambda: {"type": "reasoning_text", "text": ""},
    "output_text": lambda: text_part(""),
    "refusal": lambda: refusal_part(""),
}
_PART_TEXT = {"reasoning_text": "text", "output_text": "text", "refusal": "refusal"}
_DELTA_EVENT = {
    "reasoning": "response.reasoning_text.delta",
    "output_text": "response.output_text.delta",
    "refusal": "response.refusal.delta",
}
_DONE_EVENT = {
    "reasoning_text": "response.reasoning_text.done",
    "output_text": "response.output_text.done",
    "refusal": "response.refusal.done",
}
_DONE_FIELD = {"reasoning_text": "text", "output_text": "text", "refusal": "refusal"}


def _extra(kind: str) -> dict[str, Any]:
    """Text events carry `logprobs` (required by the spec; none are relayed)."""
    return {"logprobs": []} if kind in ("output_text",) else {}
