"""The playground: image generation, image analysis and speech through gateway.media, and a text
panel (the docs' request builder over the non-chat text routes, called with an API key).

The endpoints are session-authenticated and CSRF-protected; they answer JSON (or audio) for
static/js/playground.js, with the /v1 error envelope when a request fails.
"""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from accounts.models import Workspace
from catalog.models import CatalogModel
from catalog.selectors import AUTO_FREE_ID, active_models
from gateway.api.errors import ApiError, error_response
from gateway.media.images import CappedUploadHandler
from gateway.media.service import Caller, MediaResult, image_analyze, images_generate
from gateway.media.speech import speech_create

from .chat import family_choices
from .common import page, workspace_of
from .docs import TEXT_WORKFLOWS, available_workflows
from .markdown import markdown_html

IMAGE_SIZES = ["1024x1024", "512x512", "768x1024", "1024x768"]
FORM_INTEGER_DIGITS = 9
Category = CatalogModel.Category


def _is_vision(model: CatalogModel) -> bool:
    capabilities = model.capabilities if isinstance(model.capabilities, dict) else {}
    return model.category == Category.VISION or bool(capabilities.get("vision"))


def playground_models(workspace: Workspace) -> dict[str, list[CatalogModel]]:
    """The workspace's models per playground workflow."""
    models = list(active_models(workspace_id=workspace.pk))
    return {
        "image": [m for m in models if m.category == Category.IMAGE],
        "vision": [m for m in models if _is_vision(m)],
        "speech": [m for m in models if m.category == Category.SPEECH],
    }


@never_cache
@login_required
def playground_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    models = playground_models(workspace)
    context = {
        "models": models,
        "vision_families": family_choices(workspace, category=Category.VISION),
        "voices": {m.public_id: m.voices for m in models["speech"]},
        "auto_free_id": AUTO_FREE_ID,
        "image_sizes": IMAGE_SIZES,
        "workflows": available_workflows(TEXT_WORKFLOWS),
    }
    return page(request, "playground.html", "playground", context)


def _caller(request: HttpRequest) -> Caller:
    return Caller(
        workspace=workspace_of(request),
        api_key=None,
        request_id=request.request_id,  # type: ignore[attr-defined]
        source="web",
    )


def _fields(request: HttpRequest, *names: str) -> dict[str, Any]:
    """The posted fields; an empty one is absent (the services treat None as absent)."""
    return {name: request.POST.get(name, "").strip() or None for name in names}


def _served(result: MediaResult, request: HttpRequest, **body: Any) -> JsonResponse:
    data = {
        "model": result.headers.get("x-openprovider-model"),
        "provider": result.headers.get("x-openprovider-provider"),
        "request_id": request.request_id,  # type: ignore[attr-defined]
        **body,
    }
    return JsonResponse(data)


def _form_integer(value: str | None) -> int | str | None:
    """A form's whole number as the JSON API takes it; anything else is left for the service
    to refuse with its usual message. A number too long for any form field stands for the
    smallest such number, past every bound (int() refuses 4,300 digits and is slow long before)."""
    if value is None or not value.isdecimal():
        return value
    digits = value.lstrip("0") or "0"
    return int(digits) if len(digits) <= FORM_INTEGER_DIGITS else 10**FORM_INTEGER_DIGITS


@login_required
@require_POST
def image_generate_endpoint(request: HttpRequest) -> HttpResponse:
    payload = {**_fields(request, "prompt", "model", "size", "n"), "response_format": "url"}
    payload["n"] = _form_integer(payload["n"])
    try:
        result = images_generate(
            caller=_caller(request),
            payload=payload,
            file_url=lambda name: reverse("v1-image-file-detail", args=[name]),
        )
    except ApiError as error:
        return error_response(error, request)
    return _served(result, request, images=result.body.get("data", []))


@csrf_exempt  # checked by csrf_protect below, once the capped upload handler is in place
@login_required
@require_POST
def image_analyze_endpoint(request: HttpRequest) -> HttpResponse:
    request.upload_handlers = [CappedUploadHandler(request)]
    try:
        return _image_analyze(request)
    except ApiError as error:  # an upload over the cap, raised while the body is parsed
        return error_response(error, request)


@csrf_protect
def _image_analyze(request: HttpRequest) -> HttpResponse:
    payload = {
        **_fields(request, "prompt", "model", "image_url"),
        "file": request.FILES.get("file"),
    }
    try:
        result = image_analyze(caller=_caller(request), payload=payload)
    except ApiError as error:
        return error_response(error, request)
    text = result.body.get("output_text", "")
    return _served(result, request, text=text, html=str(markdown_html(text)))


@login_required
@require_POST
def speech_endpoint(request: HttpRequest) -> HttpResponse:
    payload = {**_fields(request, "model", "input", "voice"), "response_format": "mp3"}
    payload["model"] = payload["model"] or AUTO_FREE_ID
    try:
        result = speech_create(caller=_caller(request), payload=payload)
    except ApiError as error:
        return error_response(error, request)
    response = HttpResponse(result.audio, content_type=result.content_type)
    for name, value in result.headers.items():
        response[name] = value
    return response
