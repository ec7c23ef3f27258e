"""Adapters that also call the provider's native API, one level above the OpenAI-compatible /v1."""

from .adapter import OpenAICompatibleAdapter


class NativeRootAdapter(OpenAICompatibleAdapter):
    """OpenAI-compatible chat under `…/v1`; native listing, image or speech under `root`."""

    @property
    def root(self) -> str:
        return self.base_url.removesuffix("/v1")
