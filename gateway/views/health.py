from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from gateway.liveness import health_report


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """200 with the state of database, cache and broker; 503 naming the part that is down."""
    report = health_report()
    return JsonResponse(report, status=200 if report["status"] == "ok" else 503)
