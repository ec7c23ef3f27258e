"""Test data for catalog and /v1/models tests: credentials, seeded models, a stub adapter."""

from django.utils import timezone

from catalog.models import CatalogModel
from providers.models import ProviderCredential
from providers.wire import ModelInfo

GROQ_KEY = "gsk_canaryGROQsecret0123456789abcdef"
CUSTOM_KEY = "custom-canary-SECRET-key-0123456789"
CUSTOM_BASE = "http://llm.test/v1"
GROQ_MODELS_URL = "https://api.groq.com/openai/v1/models"
CUSTOM_MODELS_URL = f"{CUSTOM_BASE}/models"


def make_credential(workspace, provider: str = "custom", **fields) -> ProviderCredential:
    defaults = {"name": provider, "api_key": CUSTOM_KEY, "key_hint": "6789"}
    if provider == "custom":
        defaults["base_url"] = CUSTOM_BASE
    return ProviderCredential.objects.create(
        workspace=workspace, provider=provider, **{**defaults, **fields}
    )


def seed_model(credential: ProviderCredential, upstream_id: str, **fields) -> CatalogModel:
    now = timezone.now()
    values = {
        "workspace": credential.workspace,
        "credential": credential,
        "provider": credential.provider,
        "public_id": f"{credential.name}/{upstream_id}",
        "upstream_id": upstream_id,
        "name": upstream_id,
        "category": "text",
        "free_evidence": "seeded",
        "last_seen": now,
        "updated_at": now,
        **fields,
    }
    return CatalogModel.objects.create(**values)


class StubAdapter:
    """Stands in for a provider adapter: returns the ModelInfos a test sets."""

    def __init__(self) -> None:
        self.models: list[ModelInfo] = []
        self.error: Exception | None = None
        self.calls = 0

    def list_models(self) -> list[ModelInfo]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return list(self.models)

    def check(self) -> None:
        if self.error is not None:
            raise self.error


def free(upstream_id: str, category: str = "text", **fields) -> ModelInfo:
    return ModelInfo(
        upstream_id=upstream_id,
        name=fields.pop("name", upstream_id),
        category=category,
        free=True,
        free_evidence=fields.pop("free_evidence", "stub: free"),
        **fields,
    )


def models_named(n: int, prefix: str = "model") -> list[ModelInfo]:
    return [free(f"{prefix}-{i:04d}", context_length=8192) for i in range(n)]
