"""The media workflows: image generation and image analysis here, speech in gateway.media.speech.

Each request is logged (gateway.requestlog), routed to the workspace's free models of the right
category (exact id or the auto route, ranked and cooled down by
gateway.routing.candidates/cooldowns) and tried with fallback (gateway.routing.fallback). Whatever
an upstream returns is checked before it is served: images are decoded and verified, audio must be
audio, provider URLs are fetched only through the SSRF guard. Image analysis is a chat call with an
image part to a vision model.
"""

import base64
from collections.abc import Callable
from typing import Any

from catalog.models import CatalogModel
from config.infra.dbconnections import release_db_connections
from gateway.api.chat_request import ChatRequest, parse_chat_request, upstream_payload
from gateway.api.media_input import ImageAnalysisInput, ImageGenerationInput, parse_input
from gateway.chat.normalize import completion_body
from gateway.media import safe_fetch
from gateway.media.images import (
    ImageData,
    ImageTooLarge,
    InvalidImage,
    generated_image_store,
    parse_data_url,
    read_upload,
    sniff_image_type,
    validate_image,
)
from gateway.media.routing import (
    Caller,
    Endpoint,
    MediaResult,
    auto_alias,
    exact_model,
    logged_call,
    media_candidates,
)
from gateway.media.speech import speech_create
from gateway.routing.candidates import AUTO_IDS, chat_candidates, is_family_id, route_adapter
from gateway.routing.context import ChatContext, served_headers
from gateway.routing.fallback import run_with_fallback
from providers import parsing
from providers.errors import ProviderError

IMAGES, ANALYZE = "images.generations", "images.analyze"
OPENAI_IMAGE_MODELS = frozenset({"dall-e-2", "dall-e-3", "gpt-image-1", "gpt-image-1-mini"})
__all__ = ["Caller", "MediaResult", "image_analyze", "images_generate", "speech_create"]


def _is_vision(model: CatalogModel) -> bool:
    capabilities = model.capabilities if isinstance(model.capabilities, dict) else {}
    return model.category == CatalogModel.Category.VISION or bool(capabilities.get("vision"))


IMAGE_ENDPOINT = Endpoint(
    IMAGES,
    "/v1/images/generations",
    "an image model",
    lambda m: m.category == CatalogModel.Category.IMAGE,
    CatalogModel.Category.IMAGE,
)
ANALYZE_ENDPOINT = Endpoint(
    ANALYZE, "/v1/images/analyze", "a vision model", _is_vision, CatalogModel.Category.VISION
)


# ---- image generation --------------------------------------------------------------------------
def images_generate(*, caller: Caller, payload: Any, file_url: Callable[[str], str]) -> MediaResult:
    """OpenAI images.generate: b64_json, or URLs of stored copies (file_url(name) builds them)."""

    def work(ctx: ChatContext) -> tuple[CatalogModel, list[dict[str, Any]], None]:
        data = parse_input(ImageGenerationInput, payload)
        model_id = auto_alias(data["model"], OPENAI_IMAGE_MODELS)
        candidates = media_candidates(caller.workspace, model_id, IMAGE_ENDPOINT)
        release_db_connections()
        model, images = run_with_fallback(ctx, candidates, lambda m: _generate(m, data))
        entries = [
            _image_entry(caller, image, revised, data, file_url) for image, revised in images
        ]
        return model, entries, None

    model, entries, ctx = logged_call(caller, IMAGE_ENDPOINT, payload, work)
    body = {"created": ctx.created, "data": entries, "model": model.public_id}
    return MediaResult(
        headers=served_headers(model), body={**body, "provider": model.credential.name}
    )


def _generate(model: CatalogModel, data: dict[str, Any]) -> list[tuple[ImageData, str | None]]:
    n = data.get("n", 1)
    payload = {"model": model.upstream_id, "prompt": data["prompt"], "n": n}
    payload |= {name: data[name] for name in ("size", "quality", "style") if name in data}
    payload["response_format"] = "b64_json"
    items = route_adapter(model.credential).generate_image(payload)
    if not isinstance(items, list) or not items:
        raise ProviderError("upstream returned no image", kind="invalid_response", retryable=True)
    return [_upstream_image(item) for item in items[:n]]


def _upstream_image(item: Any) -> tuple[ImageData, str | None]:
    """One provider image, decoded and verified, with its revised prompt if any."""
    if not isinstance(item, dict):
        raise ProviderError("upstream sent a malformed image", kind="invalid_response")
    revised = item.get("revised_prompt")
    try:
        content = _upstream_bytes(item)
        image = validate_image(content, sniff_image_type(content) or "application/octet-stream")
    except (InvalidImage, ImageTooLarge, safe_fetch.ImageFetchError):
        raise ProviderError(
            "upstream returned an invalid image", kind="invalid_response", retryable=True
        ) from None
    return image, revised if isinstance(revised, str) and revised else None


def _upstream_bytes(item: dict[str, Any]) -> bytes:
    """base64, a data URL, or a URL fetched only through the SSRF guard (never blindly)."""
    url = item.get("url")
    if item.get("b64_json"):
        return parsing.b64(item["b64_json"]) or b""
    if isinstance(url, str) and url[:5].lower() == "data:":
        return parse_data_url(url).content
    if isinstance(url, str):
        return safe_fetch.fetch_image(url).content
    return b""


def _image_entry(
    caller: Caller,
    image: ImageData,
    revised: str | None,
    data: dict[str, Any],
    file_url: Callable[[str], str],
) -> dict[str, Any]:
    if data.get("response_format") == "b64_json":
        entry = {"b64_json": base64.b64encode(image.content).decode("ascii")}
    else:
        stored = generated_image_store(workspace=caller.workspace, image=image)
        entry = {"url": file_url(stored.name)}
    return {**entry, "revised_prompt": revised} if revised else entry


# ---- image analysis ----------------------------------------------------------------------------
def image_analyze(*, caller: Caller, payload: Any) -> MediaResult:
    """Describe an image (URL, data URL or upload) with a vision model; the image is checked
    (and fetched through the SSRF guard) before any routing."""

    def work(ctx: ChatContext) -> tuple[CatalogModel, dict[str, Any], dict[str, Any] | None]:
        data = parse_input(ImageAnalysisInput, payload)
        # no fetch for a model that could never see it (a family's routes are checked later)
        if data["model"] not in AUTO_IDS and not is_family_id(data["model"]):
            exact_model(caller.workspace, data["model"], ANALYZE_ENDPOINT)
        image = _analysis_image(data)
        request = parse_chat_request(_vision_chat(data, image))
        candidates = chat_candidates(workspace=caller.workspace, request=request)
        release_db_connections()
        return _with_body(run_with_fallback(ctx, candidates, lambda m: _analyze(ctx, request, m)))

    model, body, ctx = logged_call(caller, ANALYZE_ENDPOINT, payload, work)
    message = body["choices"][0]["message"]
    analysis = {
        "id": caller.request_id,
        "object": "image.analysis",
        "created": ctx.created,
        "model": model.public_id,
        "provider": model.credential.name,
        "output_text": message.get("content") or "",
        "usage": body.get("usage"),
    }
    return MediaResult(headers=served_headers(model), body=analysis)


def _with_body(
    served: tuple[CatalogModel, dict[str, Any]],
) -> tuple[CatalogModel, dict[str, Any], dict[str, Any] | None]:
    model, body = served
    return model, body, body.get("usage")


def _analysis_image(data: dict[str, Any]) -> ImageData:
    if data.get("file") is not None:
        return read_upload(data["file"])
    url = data["image_url"]
    if url[:5].lower() == "data:":
        return parse_data_url(url)
    fetched = safe_fetch.fetch_image(url)
    return validate_image(fetched.content, fetched.content_type)


def _vision_chat(data: dict[str, Any], image: ImageData) -> dict[str, Any]:
    content = [
        {"type": "text", "text": data["prompt"]},
        {"type": "image_url", "image_url": {"url": image.data_url()}},
    ]
    body: dict[str, Any] = {
        "model": data["model"],
        "messages": [{"role": "user", "content": content}],
    }
    if "max_tokens" in data:
        body["max_tokens"] = data["max_tokens"]
    return body


def _analyze(ctx: ChatContext, request: ChatRequest, model: CatalogModel) -> dict[str, Any]:
    body = upstream_payload(request, upstream_id=model.upstream_id, model=model)
    return completion_body(
        route_adapter(model.credential).chat(body),
        request_id=ctx.request_id,
        created=ctx.created,
        model=model.public_id,
        provider=model.credential.name,
    )
