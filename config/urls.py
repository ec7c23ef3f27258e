from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from gateway.views import health
from gateway.views.metrics import metrics_view
from gateway.web.common import moved_to_account
from gateway.web.urls import accounts_urlpatterns

# /v1 first: Django tries the patterns in order, and the API is the hot path.
urlpatterns = [
    path("v1/", include("gateway.api.urls")),
    path("", include("gateway.web.urls")),
    path("account/", include((accounts_urlpatterns, "accounts"))),
    # The sign-in and key pages lived under /accounts/ before everything moved to /account/.
    path("accounts/<path:rest>", moved_to_account, name="accounts-moved"),
    path("admin/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
]

handler400 = "gateway.api.handlers.bad_request"
handler403 = "gateway.api.handlers.permission_denied"
handler404 = "gateway.api.handlers.not_found"
handler500 = "gateway.api.handlers.server_error"
