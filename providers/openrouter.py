"""OpenRouter: the full listing (`?output_modalities=all`) and the strict `:free` rule."""

from typing import Any

from . import classify, parsing
from .adapter import OpenAICompatibleAdapter
from .listing import listed_model
from .wire import ModelInfo, Payload

FREE_EVIDENCE = "OpenRouter free variant (:free, every price 0)"
DECIDING_PRICES = ("prompt", "completion")


def not_free_reason(upstream_id: str, pricing: Any) -> str:
    """ "" for a `:free` variant (or the openrouter/free router) whose every price reads 0.

    Prompt and completion alone are not enough: image, video and rerank models list
    prompt=completion="0" and bill through other keys (image_output, image_token, request).
    """
    if not (upstream_id.endswith(":free") or upstream_id == "openrouter/free"):
        return parsing.PAID
    return parsing.price_refusal(pricing, required=DECIDING_PRICES)


class OpenRouterAdapter(OpenAICompatibleAdapter):
    """OpenRouter: every modality listed; free only under the strict `:free` rule."""

    # The default listing holds only text-output models; speech and image need `all`.
    models_path = "/models?output_modalities=all"
    check_path = "/key"  # the model listing is public, so it cannot tell a bad key

    def parse_model(self, raw: Payload) -> ModelInfo | None:
        """Category from architecture modalities; embeddings, rerank, video, guards are dropped."""
        upstream_id = parsing.model_id(raw.get("id"))
        if upstream_id is None:
            return None
        architecture = parsing.mapping(raw.get("architecture"))
        category = classify.category_of_modalities(
            upstream_id,
            parsing.lowered(architecture.get("input_modalities")),
            parsing.lowered(architecture.get("output_modalities")) or {"text"},
        )
        if category is None:
            return None
        parameters = parsing.lowered(raw.get("supported_parameters"))
        top = parsing.mapping(raw.get("top_provider"))
        return listed_model(
            upstream_id,
            category,
            free_evidence=FREE_EVIDENCE,
            not_free_reason=not_free_reason(upstream_id, raw.get("pricing")),
            name=parsing.text(raw.get("name")),
            context_length=parsing.positive_int(raw.get("context_length"))
            or parsing.positive_int(top.get("context_length")),
            max_output_tokens=parsing.positive_int(top.get("max_completion_tokens")),
            tools="tools" in parameters,
            structured_output=bool(parameters & {"structured_outputs", "response_format"}),
            description=parsing.description(raw.get("description")),
            voices=parsing.strings(raw.get("supported_voices")) if category == "speech" else [],
        )
