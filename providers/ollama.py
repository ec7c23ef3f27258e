"""Ollama (local, keyless): native /api/tags + /api/show describe models; chat via /v1."""

from typing import Any

from . import classify, parsing
from .errors import ProviderError
from .listing import listed_model, listed_rows
from .native import NativeRootAdapter
from .transport import json_body
from .wire import EMBEDDING, VISION, ModelInfo, Payload

FREE_EVIDENCE = "local model (self-hosted Ollama)"
MAX_MODELS = 200  # one /api/show call per model
SHOW_SKIPPABLE = ("not_found", "bad_request", "invalid_response")


class OllamaAdapter(NativeRootAdapter):
    """Ollama: keyless local server described by /api/tags and /api/show."""

    def list_models(self) -> list[ModelInfo]:
        tags = listed_rows(json_body(self._request("GET", f"{self.root}/api/tags")), "models")
        rows = []
        for tag in tags[:MAX_MODELS]:
            name = parsing.model_id(parsing.mapping(tag).get("name"))
            if name is not None:
                rows.append({"name": name, "show": self._show(name)})
        return self.parse_rows(rows)

    def check(self) -> None:
        self._request("GET", f"{self.root}/api/tags")

    def parse_model(self, raw: Payload) -> ModelInfo | None:
        """capabilities ["completion", "vision", "tools"] or ["embedding"]; others dropped."""
        upstream_id = parsing.model_id(raw.get("name"))
        show = parsing.mapping(raw.get("show"))
        capabilities = parsing.lowered(show.get("capabilities"))
        if upstream_id is None or (capabilities and not capabilities & {"completion", "embedding"}):
            return None
        listed = None  # no /api/show answer: the name decides
        if "completion" in capabilities:
            listed = VISION if "vision" in capabilities else classify.CHAT_MODEL
        elif capabilities:
            listed = EMBEDDING
        category = classify.category_of(upstream_id, listed)
        if category is None:
            return None
        return listed_model(
            upstream_id,
            category,
            free_evidence=FREE_EVIDENCE,
            context_length=context_length(parsing.mapping(show.get("model_info"))),
            tools="tools" in capabilities,
            structured_output=True,
        )

    def _show(self, name: str) -> Any:
        """One model's details; a model that cannot be described is still listed."""
        try:
            return json_body(self._request("POST", f"{self.root}/api/show", json={"model": name}))
        except ProviderError as error:
            if error.kind in SHOW_SKIPPABLE:
                return {}
            raise


def context_length(model_info: dict[str, Any]) -> int | None:
    architecture = model_info.get("general.architecture")
    if not isinstance(architecture, str):
        return None
    return parsing.positive_int(model_info.get(f"{architecture}.context_length"))
