"""Together AI (no free tier since Aug 2025): the historic `-Free` rule, if re-enabled."""

from . import classify, parsing
from .adapter import OpenAICompatibleAdapter
from .listing import listed_model
from .wire import IMAGE, ModelInfo, Payload

FREE_EVIDENCE = "Together free endpoint (-Free id, zero pricing)"
DECIDING_PRICES = ("input", "output")
CHAT = classify.CHAT_MODEL
TYPES = {"chat": CHAT, "language": CHAT, "code": CHAT, "image": IMAGE}


class TogetherAdapter(OpenAICompatibleAdapter):
    """Together AI: bare-array listing and the historic `-Free` rule."""

    def parse_model(self, raw: Payload) -> ModelInfo | None:
        """The listing is a bare array; free = id ends in -free (any case) and prices are 0."""
        upstream_id = parsing.model_id(raw.get("id"))
        listed = TYPES.get(parsing.text(raw.get("type")).lower())
        if upstream_id is None or listed is None:
            return None
        category = classify.category_of(upstream_id, listed)
        if category is None:
            return None
        reason = (
            parsing.price_refusal(raw.get("pricing"), required=DECIDING_PRICES)
            if upstream_id.lower().endswith("-free")
            else parsing.PAID
        )
        return listed_model(
            upstream_id,
            category,
            free_evidence=FREE_EVIDENCE,
            not_free_reason=reason,
            name=parsing.text(raw.get("display_name")),
            context_length=parsing.positive_int(raw.get("context_length")),
        )
