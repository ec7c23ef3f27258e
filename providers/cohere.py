"""Cohere (trial key): native model listing on api.cohere.com, chat via the compatibility API."""

from urllib.parse import urlsplit

from . import classify, parsing
from .adapter import OpenAICompatibleAdapter
from .listing import listed_model, token_paged_rows
from .wire import VISION, ModelInfo, Payload

FREE_EVIDENCE = "Cohere trial key (1,000 calls/month, non-commercial)"
LISTING_ROOT = "https://api.cohere.com"


class CohereAdapter(OpenAICompatibleAdapter):
    """Cohere: native paginated listing, compatibility-API chat."""

    @property
    def listing_url(self) -> str:
        """api.cohere.com/v1/models, or the same path on an operator's proxy."""
        if self.base_url == self.spec.base_url.rstrip("/"):
            return f"{LISTING_ROOT}/v1/models"
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}/v1/models"

    def list_models(self) -> list[ModelInfo]:
        rows = token_paged_rows(
            lambda params: self._request("GET", self.listing_url, params=params),
            {"endpoint": "chat", "page_size": 1000},
            rows_key="models",
            next_key="next_page_token",
            next_param="page_token",
        )
        return self.parse_rows(rows)

    def check(self) -> None:
        self._request("GET", self.listing_url, params={"endpoint": "chat", "page_size": 1})

    def parse_model(self, raw: Payload) -> ModelInfo | None:
        upstream_id = parsing.model_id(raw.get("name"))
        if upstream_id is None or raw.get("is_deprecated") is True:
            return None
        endpoints = parsing.lowered(raw.get("endpoints"))
        if endpoints and "chat" not in endpoints:
            return None
        features = parsing.lowered(raw.get("features"))
        listed = VISION if "vision" in features else classify.CHAT_MODEL
        category = classify.category_of(upstream_id, listed)
        if category is None:
            return None  # an embed or rerank model listed without its endpoints
        return listed_model(
            upstream_id,
            category,
            free_evidence=FREE_EVIDENCE,
            context_length=parsing.positive_int(raw.get("context_length")),
            tools="tools" in features,
            structured_output=bool(features & {"json_schema", "json_mode"}),
        )
