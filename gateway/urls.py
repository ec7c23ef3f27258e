"""Every /v1 route. No trailing slashes: POST cannot survive an APPEND_SLASH redirect."""

from django.urls import path, re_path

from .views import chat, errors, files, keys, media, models, status

urlpatterns = [
    path("chat/completions", chat.ChatCompletionsView.as_view(), name="v1-chat-completions"),
    path("key", keys.KeyView.as_view(), name="v1-key"),
    path("models", models.ModelListView.as_view(), name="v1-models"),
    path("models/<path:model_id>", models.ModelDetailView.as_view(), name="v1-model"),
    path("providers/status", status.ProviderStatusView.as_view(), name="v1-providers-status"),
    path("generation", chat.GenerationView.as_view(), name="v1-generation"),
    path("images/generations", media.ImageGenerationsView.as_view(), name="v1-images-generations"),
    path("images/analyze", media.ImageAnalyzeView.as_view(), name="v1-images-analyze"),
    path("audio/speech", media.SpeechView.as_view(), name="v1-audio-speech"),
    path("files/images/<str:name>", files.GeneratedImageView.as_view(), name="v1-image-file"),
    re_path(r"^.*$", errors.unknown_route, name="v1-unknown"),
]
