from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from config.infra import metrics


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition for operators: the metrics bearer token or a staff session.

    Without a configured token the endpoint looks absent (404) to everyone but staff; with one,
    a missing or wrong token gets 401.
    """
    user = getattr(request, "user", None)
    is_staff = bool(user and user.is_authenticated and user.is_staff and user.is_active)
    if not is_staff and not metrics.token_matches(request.headers.get("Authorization", "")):
        if not metrics.metrics_token_configured():
            raise Http404
        response = HttpResponse("metrics token required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    body, content_type = metrics.exposition()
    return HttpResponse(body, content_type=content_type)
