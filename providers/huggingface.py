"""Hugging Face Inference Providers: router listing with per-provider details; HF image API.

Free rule: the router is credit-metered ($0.10/month for free accounts); every live model is
"free while credits last". Images use the HF Inference API through the router:
POST https://router.huggingface.co/hf-inference/models/{model} {"inputs": prompt} -> image bytes.
"""

import base64

from . import classify, parsing
from .adapter import required_model
from .errors import ProviderError
from .listing import listed_model
from .native import NativeRootAdapter
from .wire import VISION, ModelInfo, Payload

FREE_EVIDENCE = "Hugging Face monthly free credits (free while credits last)"


def live_providers(raw: Payload) -> list[dict[str, object]] | None:
    """The entry's live providers; None when the listing gives no provider list at all."""
    providers = raw.get("providers")
    if not isinstance(providers, list):
        return None
    return [p for p in providers if isinstance(p, dict) and p.get("status", "live") == "live"]


class HuggingFaceAdapter(NativeRootAdapter):
    """Hugging Face router: credit-metered chat listing and the HF image API."""

    def parse_model(self, raw: Payload) -> ModelInfo | None:
        upstream_id = parsing.model_id(raw.get("id"))
        providers = live_providers(raw)
        if upstream_id is None or providers == []:
            return None  # an empty provider list: listed, but no provider serves it now
        inputs = parsing.lowered(parsing.mapping(raw.get("architecture")).get("input_modalities"))
        # The router lists chat models; its input list, when given, says whether they see.
        category = classify.category_of(
            upstream_id, VISION if "image" in inputs else classify.CHAT_MODEL
        )
        if category is None:
            return None
        contexts = [parsing.positive_int(p.get("context_length")) for p in providers or []]
        return listed_model(
            upstream_id,
            category,
            free_evidence=FREE_EVIDENCE,
            context_length=max((c for c in contexts if c), default=None),
            tools=any(p.get("supports_tools") is True for p in providers or []),
            structured_output=any(
                p.get("supports_structured_output") is True for p in providers or []
            ),
        )

    def generate_image(self, payload: Payload) -> list[Payload]:
        model = required_model(payload)
        body = {"inputs": str(payload.get("prompt") or "")}
        images = []
        for _ in range(parsing.image_count(payload)):
            response = self._request("POST", f"{self.root}/hf-inference/models/{model}", json=body)
            content_type = response.headers.get("content-type", "").split(";")[0]
            if not content_type.startswith("image/") or not response.content:
                raise ProviderError("upstream returned no image", kind="invalid_response")
            encoded = base64.b64encode(response.content).decode("ascii")
            images.append({"b64_json": encoded, "content_type": content_type})
        return images
