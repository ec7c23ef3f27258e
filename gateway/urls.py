"""Every /v1 route. No trailing slashes: POST cannot survive an APPEND_SLASH redirect."""

from django.urls import path, re_path

from .views import errors, keys

urlpatterns = [
    path("key", keys.KeyView.as_view(), name="v1-key"),
    re_path(r"^.*$", errors.unknown_route, name="v1-unknown"),
]
