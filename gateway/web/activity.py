"""The Activity page: the signed-in workspace's own requests, newest first, with the fallback
trace of each; filtered by model and status, 50 to a page."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache

from gateway.models import RequestLog
from gateway.requestlog.activity import activity_logs, activity_models, activity_trace

from .common import page, workspace_of

PER_PAGE = 50


@never_cache
@login_required
def activity_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    models = activity_models(workspace=workspace)
    model = request.GET.get("model", "")
    model = model if model in models else ""
    status = request.GET.get("status", "")
    status = status if status in RequestLog.Status.values else ""
    logs = activity_logs(workspace=workspace, model=model, status=status)
    current = Paginator(logs, PER_PAGE).get_page(request.GET.get("page"))
    context = {
        "subsection": "activity",
        "page_obj": current,
        "rows": [{"log": log, "trace": activity_trace(log)} for log in current],
        "model_choices": models,
        "status_choices": RequestLog.Status.choices,
        "model": model,
        "status": status,
        "filter_query": urlencode({k: v for k, v in (("model", model), ("status", status)) if v}),
    }
    return page(request, "account/activity.html", "account", context)
