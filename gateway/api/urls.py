"""Every /v1 route, on one router with OpenAI's exact paths.

No trailing slashes: POST cannot survive an APPEND_SLASH redirect. A collection answers
`list` (GET) or `create` (POST); an item answers `retrieve` (GET) and `destroy` (DELETE) under
`{basename}-detail`, and its sub-collections (`@action`s) under `{basename}-{url_name}`;
a singular resource (the calling key, the provider status) answers `show` (GET), as in Rails,
so the schema describes one object, not a list.
"""

from django.urls import re_path
from rest_framework.routers import DynamicRoute, Route, SimpleRouter

from gateway.api import handlers
from gateway.api.viewsets import chat, files, keys, media, models, responses, status


class V1Router(SimpleRouter):
    routes = [
        Route(
            url=r"^{prefix}{trailing_slash}$",
            mapping={"get": "list", "post": "create"},
            name="{basename}",
            detail=False,
            initkwargs={},
        ),
        Route(
            url=r"^{prefix}{trailing_slash}$",
            mapping={"get": "show"},
            name="{basename}",
            detail=False,
            initkwargs={},
        ),
        Route(
            url=r"^{prefix}/{lookup}{trailing_slash}$",
            mapping={"get": "retrieve", "delete": "destroy"},
            name="{basename}-detail",
            detail=True,
            initkwargs={},
        ),
        DynamicRoute(
            url=r"^{prefix}/{lookup}/{url_path}{trailing_slash}$",
            name="{basename}-{url_name}",
            detail=True,
            initkwargs={},
        ),
    ]


router = V1Router(trailing_slash=False, use_regex_path=False)
router.register("chat/completions", chat.ChatCompletionViewSet, basename="v1-chat-completions")
router.register("responses", responses.ResponseViewSet, basename="v1-responses")
router.register("key", keys.KeyViewSet, basename="v1-key")
router.register("models", models.ModelViewSet, basename="v1-models")
router.register("providers/status", status.ProviderStatusViewSet, basename="v1-providers-status")
router.register("generation", chat.GenerationViewSet, basename="v1-generation")
router.register(
    "images/generations", media.ImageGenerationViewSet, basename="v1-images-generations"
)
router.register("images/analyze", media.ImageAnalysisViewSet, basename="v1-images-analyze")
router.register("audio/speech", media.SpeechViewSet, basename="v1-audio-speech")
router.register(
    "audio/transcriptions", media.TranscriptionViewSet, basename="v1-audio-transcriptions"
)
router.register("embeddings", media.EmbeddingViewSet, basename="v1-embeddings")
router.register("completions", chat.CompletionViewSet, basename="v1-completions")
router.register("files/images", files.GeneratedImageViewSet, basename="v1-image-file")

urlpatterns = [
    *router.urls,
    re_path(r"^.*$", handlers.unknown_route, name="v1-unknown"),
]
