"""Responses relayed untranslated to upstreams that serve /responses themselves.

A route is native when its model's `responses` capability says so, else when its registry row
`serves_responses`. The body goes as the client sent it, with the upstream's model id, the
stored conversation and referenced items inlined (the upstream knows none of this gateway's
ids) and `store: false` (the gateway keeps conversations, the upstream keeps nothing). Answers
keep the upstream's output items; ids, `model` and the request-fixed fields are this gateway's.
"""

from typing import Any

from catalog.models import CatalogModel
from gateway.chat.normalize import ChunkNormalizer
from gateway.routing.candidates import route_adapter
from providers.errors import ProviderError
from providers.registry import PROVIDERS

# Never sent upstream: the gateway's own routing extras and its conversation state.
GATEWAY_KEYS = ("models", "provider", "previous_response_id")
CONTENT_EVENTS = frozenset(
    {
        "response.output_text.delta",
        "response.refusal.delta",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
    }
)
# Whole-response events: their `response` gets this gateway's id, model and request fields.
RESPONSE_EVENTS = frozenset(
    {
        "response.created",
        "response.in_progress",
        "response.completed",
        "response.incomplete",
        "response.failed",
    }
)
RESPONSE_FIXED = ("id", "model", "provider", "previous_response_id", "store", "metadata")


def serves_responses(model: CatalogModel) -> bool:
    capabilities = model.capabilities if isinstance(model.capabilities, dict) else {}
    native = capabilities.get("responses")
    if isinstance(native, bool):
        return native
    spec = PROVIDERS.get(model.provider)
    return bool(spec and spec.serves_responses)


def upstream_body(
    payload: dict[str, Any], conversation: list[dict[str, Any]], model: CatalogModel
) -> dict[str, Any]:
    """The client's body for the upstream: `conversation` (the stored history and this
    request's items, references resolved) as its input."""
    body = {key: value for key, value in payload.items() if key not in GATEWAY_KEYS}
    body.update(model=model.upstream_id, input=conversation, store=False)
    body.pop("stream", None)
    return body


def response_complete(
    body: dict[str, Any], model: CatalogModel, skeleton: dict[str, Any]
) -> dict[str, Any]:
    """The upstream's Response with this gateway's fixed fields; ProviderError when empty."""
    data = route_adapter(model.credential).responses(body)
    if not isinstance(data.get("output"), list) or not data["output"]:
        raise ProviderError("upstream returned an empty response", kind="empty", retryable=True)
    return _fixed(data, skeleton)


def _fixed(response: dict[str, Any], skeleton: dict[str, Any]) -> dict[str, Any]:
    """This gateway's fixed fields on the upstream's Response. A null the skeleton does not
    carry is dropped: upstreams (OpenAI itself) send `usage: null` and `user: null` where the
    spec allows no null, and absent is what the spec means."""
    kept = {k: v for k, v in response.items() if v is not None or k in skeleton}
    return {**kept, **{key: skeleton[key] for key in RESPONSE_FIXED}}


def chat_usage(usage: Any) -> dict[str, Any] | None:
    """A Responses usage object in the request log's (chat) names."""
    if not isinstance(usage, dict) or not isinstance(usage.get("input_tokens"), int):
        return None
    prompt, completion = usage["input_tokens"], int(usage.get("output_tokens") or 0)
    total = usage.get("total_tokens")
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": total if isinstance(total, int) else prompt + completion,
    }


class EventRelay(ChunkNormalizer):
    """The chat stream's normalizer seat for a native stream: upstream events pass as they
    are, whole-response events with this gateway's fields; content and usage are tracked."""

    def __init__(self, *, request_id: str, created: int, model: str, skeleton: dict[str, Any]):
        super().__init__(request_id=request_id, created=created, model=model)
        self.skeleton = skeleton
        self.final: dict[str, Any] | None = None

    def feed(self, raw: dict[str, Any]) -> dict[str, Any] | None:
        kind = raw.get("type")
        if kind in CONTENT_EVENTS or (
            kind == "response.output_item.added"
            and (raw.get("item") or {}).get("type") == "function_call"
        ):
            self.has_content = True
        if isinstance(raw.get("delta"), str):
            self.completion_texts.append(raw["delta"])
        if kind in RESPONSE_EVENTS and isinstance(raw.get("response"), dict):
            response = _fixed(raw["response"], self.skeleton)
            self.usage = chat_usage(response.get("usage")) or self.usage
            if kind in ("response.completed", "response.incomplete"):
                self.final = response
            return {**raw, "response": response}
        return raw
