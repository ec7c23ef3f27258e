"""Account pages: overview, saved models, conversations and usage charts."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.models import SavedModel
from catalog.selectors import AUTO_FREE_ID, active_models
from gateway.chat.conversations import (
    conversation_list,
    saved_model_delete,
    saved_model_list,
)
from gateway.requestlog.usage import (
    PERIODS,
    usage_by_day,
    usage_by_route,
    usage_filters,
    usage_logs,
    usage_totals,
)
from providers.models import ProviderCredential

from .charts import Series, bar_chart
from .common import page, workspace_of


@never_cache
@login_required
def account_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    days = usage_by_day(logs=usage_logs(workspace=workspace, days=7), days=7)
    context = {
        "subsection": "overview",
        "workspace": workspace,
        "providers": ProviderCredential.objects.filter(workspace=workspace).count(),
        "models": active_models(workspace_id=workspace.pk).count(),
        "api_keys": workspace.api_keys.filter(revoked_at__isnull=True).count(),
        "saved": saved_model_list(workspace=workspace).count(),
        "conversations": conversation_list(workspace=workspace).count(),
        "requests_7d": sum(day.requests for day in days),
        "errors_7d": sum(day.errors for day in days),
    }
    return page(request, "account/overview.html", "account", context)


@never_cache
@login_required
def saved_models_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    saved = list(saved_model_list(workspace=workspace))
    in_catalog = set(
        active_models(workspace_id=workspace.pk)
        .filter(public_id__in=[s.model_id for s in saved])
        .values_list("public_id", flat=True)
    )
    in_catalog.add(AUTO_FREE_ID)
    context = {"subsection": "saved", "saved_models": saved, "in_catalog": in_catalog}
    return page(request, "account/saved.html", "account", context)


@login_required
@require_POST
def saved_model_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    workspace = workspace_of(request)
    saved = get_object_or_404(SavedModel.objects.filter(workspace=workspace), pk=pk)
    saved_model_delete(saved_model=saved)
    messages.success(request, f"Removed {saved.model_id} from saved models.")
    return redirect("account-saved")


@never_cache
@login_required
def conversations_page(request: HttpRequest) -> HttpResponse:
    conversations = conversation_list(workspace=workspace_of(request))
    context = {"subsection": "conversations", "conversations": conversations[:500]}
    return page(request, "account/conversations.html", "account", context)


def _period(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", PERIODS[0]))
    except ValueError:
        days = PERIODS[0]
    return days if days in PERIODS else PERIODS[0]


def _charts(days: list[Any]) -> list[Any]:
    labels = [day.day.strftime("%b %d") for day in days]
    traffic = bar_chart(
        "Requests and errors per day",
        labels,
        [
            Series("requests", [d.requests for d in days], "bar"),
            Series("errors", [d.errors for d in days], "bar-error"),
        ],
    )
    latency = bar_chart(
        "Mean latency per day (ms)",
        labels,
        [Series("mean latency", [d.avg_latency_ms for d in days], "bar-latency", " ms")],
    )
    tokens = bar_chart(
        "Tokens per day", labels, [Series("tokens", [d.tokens for d in days], "bar-tokens")]
    )
    return [traffic, latency, tokens]


@never_cache
@login_required
def usage_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    period = _period(request)
    models, providers = usage_filters(workspace=workspace, days=period)
    model = request.GET.get("model", "")
    provider = request.GET.get("provider", "")
    model = model if model in models else ""
    provider = provider if provider in providers else ""
    logs = usage_logs(workspace=workspace, days=period, model=model, provider=provider)
    days = usage_by_day(logs=logs, days=period)
    routes = usage_by_route(logs=logs)
    totals = usage_totals(logs=logs)
    context = {
        "subsection": "usage",
        "period": period,
        "periods": PERIODS,
        "model_choices": models,
        "provider_choices": providers,
        "model": model,
        "provider": provider,
        "charts": _charts(days),
        "routes": routes,
        "max_route_requests": max((r.requests for r in routes), default=0),
        "totals": totals,
        "total_requests": totals.requests,
        "total_errors": totals.errors,
    }
    return page(request, "account/usage.html", "account", context)
