"""Pollinations (gen.pollinations.ai): key optional, priced in "pollen", GET image and audio.

Free rule: a model whose every published price reads 0 pollen is free; a priced model is paid
from the account's pollen balance and is not listed as free (the daily tier allowance is a
balance, not a per-model promise). A model without a readable price is not free (fail closed).
"""

import base64
from urllib.parse import quote

import requests

from . import classify, parsing
from .adapter import required_model
from .errors import ProviderError
from .listing import listed_model, listed_rows
from .native import NativeRootAdapter
from .transport import json_any
from .wire import SPEECH, ModelInfo, Payload

FREE_EVIDENCE = "free tier allowance (pollen): every price of this model is 0"
PRICE_LABELS = frozenset({"currency"})
LISTINGS = ("/text/models", "/image/models")


def size(payload: Payload) -> dict[str, int]:
    """OpenAI's "1024x1024" as width/height query parameters (junk is ignored)."""
    width, _, height = str(payload.get("size") or "").partition("x")
    dimensions = {"width": parsing.positive_int(width), "height": parsing.positive_int(height)}
    return {name: value for name, value in dimensions.items() if value and value <= 4096}


class PollinationsAdapter(NativeRootAdapter):
    """Pollinations: text and image catalogs, GET image and audio endpoints."""

    def list_models(self) -> list[ModelInfo]:
        rows: list[object] = []
        for path in LISTINGS:
            rows.extend(listed_rows(json_any(self._request("GET", self.root + path))))
        return self.parse_rows(rows)

    def check(self) -> None:
        self._request("GET", self.root + LISTINGS[0])

    def parse_model(self, raw: Payload) -> ModelInfo | None:
        """Output audio -> speech (served by GET /audio), image -> image, video dropped."""
        upstream_id = parsing.model_id(raw.get("name"))
        inputs = parsing.lowered(raw.get("input_modalities"))
        outputs = parsing.lowered(raw.get("output_modalities"))
        category = parsing.category_from_modalities(inputs, outputs)
        if "audio" in outputs:
            category = SPEECH  # served by GET /audio/{text}
        if upstream_id is None or category is None:
            return None
        category = classify.category_of(upstream_id, category)
        if category is None:
            return None
        return listed_model(
            upstream_id,
            category,
            free_evidence=FREE_EVIDENCE,
            not_free_reason=parsing.price_refusal(raw.get("pricing"), labels=PRICE_LABELS),
            context_length=parsing.positive_int(raw.get("context_window")),
            tools=parsing.flag(raw.get("tools")),
            description=parsing.description(raw.get("description")),
            voices=parsing.strings(raw.get("voices")) if category == SPEECH else [],
        )

    def generate_image(self, payload: Payload) -> list[Payload]:
        """GET /image/{prompt}?model=&width=&height=&seed= answers with the image bytes."""
        model = required_model(payload)
        prompt = quote(str(payload.get("prompt") or ""), safe="")
        seed = parsing.positive_int(payload.get("seed"))
        images = []
        for index in range(parsing.image_count(payload)):
            params = {"model": model, **size(payload)}
            if seed is not None:
                params["seed"] = seed + index
            response = self._request("GET", f"{self.root}/image/{prompt}", params=params)
            images.append(_encoded(response, "image/"))
        return images

    def speech(self, payload: Payload) -> tuple[bytes, str]:
        """GET /audio/{text}?voice= answers with MP3 bytes."""
        text = quote(str(payload.get("input") or ""), safe="")
        params = {"voice": payload.get("voice"), "model": parsing.model_id(payload.get("model"))}
        params = {name: value for name, value in params.items() if isinstance(value, str)}
        response = self._request("GET", f"{self.root}/audio/{text}", params=params)
        content_type = response.headers.get("content-type", "audio/mpeg").split(";")[0]
        if not content_type.startswith("audio/"):
            raise ProviderError("upstream returned no audio", kind="invalid_response")
        return response.content, content_type


def _encoded(response: requests.Response, expected: str) -> Payload:
    content_type = response.headers.get("content-type", "").split(";")[0]
    if not content_type.startswith(expected) or not response.content:
        raise ProviderError("upstream returned no image", kind="invalid_response", retryable=True)
    encoded = base64.b64encode(response.content).decode("ascii")
    return {"b64_json": encoded, "content_type": content_type}
