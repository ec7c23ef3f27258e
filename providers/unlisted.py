"""OpenAI-compatible listings that say nothing about what a model can do: self-hosted servers
(vLLM, llama.cpp, LM Studio, a proxy), NVIDIA NIM and Scaleway list ids only.

For them tool calling, structured output and (for a text model) vision are *unknown* (None),
never a guessed false: an exact request with `tools` or `response_format` is passed through as
sent, the auto route does not pick the model for such a request, and an operator can set the
real values as overrides.
"""

from .adapter import OpenAICompatibleAdapter
from .wire import TEXT, VISION, ModelInfo, Payload

UNKNOWN_FOR_CHAT = ("tools", "structured_output")


class UnlistedCapabilitiesAdapter(OpenAICompatibleAdapter):
    def parse_model(self, raw: Payload) -> ModelInfo | None:
        info = super().parse_model(raw)
        if info is None or info.category not in (TEXT, VISION):
            return info
        unknown = dict.fromkeys(UNKNOWN_FOR_CHAT)
        if info.category == TEXT:
            unknown["vision"] = None  # an id without a vision hint proves nothing either way
        info.capabilities = {**info.capabilities, **unknown}
        return info
