"""Media test helpers: provider credentials, catalog rows, upstream URLs and media bytes."""

import base64
import io
import json
from typing import Any

import responses
from PIL import Image

from catalog.models import CatalogModel
from gateway.models import RequestLog
from providers.models import ProviderCredential
from tests.fakeprovider import tiny_png, tiny_wav
from tests.gateway.conftest import make_credential, make_model

CF_ACCOUNT = "acc0123456789abcdef"
CF_RUN = f"https://api.cloudflare.com/client/v4/accounts/{CF_ACCOUNT}/ai/run/"
FLUX = "@cf/black-forest-labs/flux-1-schnell"
MELOTTS = "@cf/myshell-ai/melotts"
POLLINATIONS = "https://gen.pollinations.ai"
HF_MODELS = "https://router.huggingface.co/hf-inference/models/"
GROQ_SPEECH = "https://api.groq.com/openai/v1/audio/speech"
OPENROUTER_SPEECH = "https://openrouter.ai/api/v1/audio/speech"
GEMINI_NATIVE = "https://generativelanguage.googleapis.com/v1beta/models/"

PNG = tiny_png()
WAV = tiny_wav()
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64
NO_CAPS: dict[str, bool] = {"tools": False, "structured_output": False, "streaming": False}


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 10)).save(buffer, format="JPEG")
    return buffer.getvalue()


def b64(content: bytes) -> str:
    return base64.b64encode(content).decode()


def credential(workspace, provider: str, name: str | None = None, **fields: Any):
    if provider == "cloudflare":
        fields.setdefault("account_id", CF_ACCOUNT)
    return make_credential(workspace, provider, name or provider, **fields)


def media_model(cred: ProviderCredential, upstream_id: str, category: str, **fields: Any):
    fields.setdefault("capabilities", dict(NO_CAPS))
    return make_model(cred, upstream_id, category=category, context_length=None, **fields)


def cloudflare_image_body(content: bytes = PNG) -> dict[str, Any]:
    return {"result": {"image": b64(content)}, "success": True, "errors": [], "messages": []}


def upstream_calls(mock: responses.RequestsMock) -> list[str]:
    return [call.request.url for call in mock.calls]


def json_sent(mock: responses.RequestsMock, index: int = -1) -> dict[str, Any]:
    return json.loads(mock.calls[index].request.body)


def log_row(response) -> RequestLog:
    return RequestLog.objects.get(pk=response["x-request-id"])


def model_ids(*models: CatalogModel) -> list[str]:
    return [model.public_id for model in models]
