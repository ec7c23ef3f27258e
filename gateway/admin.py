"""Admin for the request log: read-only, one row per request, with every upstream attempt."""

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from .models import RequestLog

ATTEMPT_COLUMNS = ("model", "provider", "status", "http_status", "reason", "ms")


class ReadOnlyAdmin(admin.ModelAdmin):
    """What happened stays as it happened: view only, for every operator."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(RequestLog)
class RequestLogAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "id",
        "workspace",
        "endpoint",
        "requested_model",
        "served_model",
        "provider",
        "status",
        "http_status",
        "latency_ms",
        "total_tokens",
        "attempt_count",
    )
    list_display_links = ("created_at", "id")
    list_filter = (
        ("workspace", admin.RelatedOnlyFieldListFilter),
        "status",
        "provider",
        "served_model",
        "endpoint",
        "source",
        "created_at",
    )
    search_fields = ("=id",)
    search_help_text = "A request id (gen-…), exactly as in the X-Request-ID header."
    date_hierarchy = "created_at"
    list_select_related = ("workspace",)
    show_full_result_count = False  # no COUNT(*) over the whole log on every page
    fieldsets = (
        (None, {"fields": ("id", "workspace", "api_key", "source", "endpoint", "streamed")}),
        ("Outcome", {"fields": ("status", "http_status", "error_code", "attempts_table")}),
        ("Model", {"fields": ("requested_model", "served_model", "provider")}),
        ("Timing", {"fields": ("created_at", "finished_at", "latency_ms", "ttft_ms")}),
        ("Tokens", {"fields": ("prompt_tokens", "completion_tokens", "total_tokens")}),
    )
    readonly_fields = ("attempts_table",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[RequestLog]:
        return super().get_queryset(request).select_related("workspace", "api_key")

    @admin.display(description="attempts")
    def attempt_count(self, log: RequestLog) -> int:
        return len(log.attempts or [])

    @admin.display(description="Upstream attempts")
    def attempts_table(self, log: RequestLog) -> SafeString:
        """Every attempt in order: the fallback trace of the request."""
        if not log.attempts:
            return format_html("<p>{}</p>", "No upstream attempt (refused before routing).")
        head = format_html_join("", "<th scope='col'>{}</th>", ((c,) for c in ATTEMPT_COLUMNS))
        rows = format_html_join(
            "",
            "<tr data-attempt>{}</tr>",
            (
                (format_html_join("", "<td>{}</td>", ((_cell(a, c),) for c in ATTEMPT_COLUMNS)),)
                for a in log.attempts
                if isinstance(a, dict)
            ),
        )
        return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, rows)


def _cell(attempt: dict[str, Any], column: str) -> str:
    value = attempt.get(column)
    return "" if value is None else str(value)
