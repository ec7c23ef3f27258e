"""Admin for the free-model registry and sync history, and the credential admin's job actions.

The ProviderCredential admin belongs to the providers app, which knows nothing of catalog
jobs; it is re-registered here with `sync_now` and `check_now`, which queue the Celery tasks
after the commit.
"""

import functools
import json

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog.forms import ModelOverrideForm
from catalog.models import CatalogModel, HeldCatalogChange, SyncRun
from catalog.overrides import CAPABILITY_NAMES, listed_of
from catalog.services import catalog_held_accept, catalog_invalidate, catalog_model_override
from catalog.tasks import catalog_sync_credential_task, provider_check_task
from providers.admin import ProviderCredentialAdmin
from providers.models import ProviderCredential


@admin.register(CatalogModel)
class CatalogModelAdmin(admin.ModelAdmin):
    """Models come from syncs; an operator changes them only through overrides, which every
    later sync keeps (the listed values stay visible next to them)."""

    form = ModelOverrideForm
    list_display = (
        "public_id",
        "workspace",
        "provider",
        "category",
        "context_length",
        "is_active",
        "hidden",
        "overridden",
        "credential_state",
        "last_seen",
    )
    list_filter = ("provider", "category", "is_active", "hidden")
    search_fields = ("public_id",)
    list_select_related = ("workspace", "credential")
    readonly_fields = (
        "public_id",
        "workspace",
        "credential",
        "provider",
        "upstream_id",
        "name",
        "description",
        "voices",
        "free_evidence",
        "is_active",
        "first_seen",
        "last_seen",
        "updated_at",
        "category",
        "capabilities",
        "context_length",
        "max_output_tokens",
        "listed_values",
        "overrides",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "public_id",
                    "workspace",
                    "credential",
                    "provider",
                    "upstream_id",
                    "name",
                    "description",
                    "voices",
                    "free_evidence",
                    "is_active",
                    "first_seen",
                    "last_seen",
                    "updated_at",
                )
            },
        ),
        (
            "Effective values (what routing and /v1/models use)",
            {"fields": ("category", "capabilities", "context_length", "max_output_tokens")},
        ),
        ("As listed by the provider", {"fields": ("listed_values", "overrides")}),
        (
            "Operator overrides (kept across syncs; empty means as listed)",
            {
                "fields": (
                    "hidden",
                    "override_category",
                    "override_context_length",
                    "override_max_output_tokens",
                    *(f"override_{name}" for name in CAPABILITY_NAMES),
                )
            },
        ),
    )
    show_full_result_count = False

    @admin.display(description="credential state")
    def credential_state(self, obj: CatalogModel) -> str:
        return obj.credential.state

    @admin.display(description="overridden", boolean=True)
    def overridden(self, obj: CatalogModel) -> bool:
        return bool(obj.overrides)

    @admin.display(description="listed")
    def listed_values(self, obj: CatalogModel) -> str:
        return json.dumps(listed_of(obj), sort_keys=True)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # models come from syncs

    def save_model(
        self, request: HttpRequest, obj: CatalogModel, form: ModelOverrideForm, change: bool
    ) -> None:
        catalog_model_override(
            model=obj, overrides=form.overrides(), hidden=form.cleaned_data["hidden"]
        )

    def delete_model(self, request: HttpRequest, obj: CatalogModel) -> None:
        super().delete_model(request, obj)
        catalog_invalidate(obj.workspace_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[CatalogModel]) -> None:
        workspace_ids = set(queryset.values_list("workspace_id", flat=True))
        super().delete_queryset(request, queryset)
        for workspace_id in workspace_ids:
            catalog_invalidate(workspace_id)


def _accept_held(
    modeladmin: admin.ModelAdmin, request: HttpRequest, credentials: list[ProviderCredential]
) -> None:
    """Apply each credential's held change now and say how many applied."""
    applied, busy = 0, []
    for credential in credentials:
        run = catalog_held_accept(credential=credential)
        if run is None:
            busy.append(credential.name)
        elif run.status == SyncRun.Status.OK:
            applied += 1
    modeladmin.message_user(request, f"Applied {applied} held catalog change(s).")
    if busy:
        modeladmin.message_user(
            request, f"A sync is running for {', '.join(busy)}; try again.", messages.WARNING
        )


@admin.action(description="Accept the held catalog change")
def accept_held_changes_of_credentials(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ProviderCredential]
) -> None:
    _accept_held(modeladmin, request, list(queryset.filter(held_catalog_change__isnull=False)))


@admin.register(HeldCatalogChange)
class HeldCatalogChangeAdmin(admin.ModelAdmin):
    """Sync outcomes waiting for review; accept them from the SyncRun or credential admin."""

    list_display = (
        "credential",
        "workspace",
        "active_before",
        "would_remove",
        "would_add",
        "sync_run",
        "created_at",
    )
    list_select_related = ("credential__workspace", "sync_run")
    exclude = ("rows",)  # the held listing itself can be large; the counts tell the story

    @admin.display(description="workspace")
    def workspace(self, obj: HeldCatalogChange) -> str:
        return str(obj.credential.workspace)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: HeldCatalogChange | None = None
    ) -> bool:
        return False


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = ("pk", "workspace", "trigger", "status", "started_at", "finished_at")
    list_filter = ("status", "trigger")
    list_select_related = ("workspace",)
    readonly_fields = ("workspace", "trigger", "status", "started_at", "finished_at", "results")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SyncRun | None = None) -> bool:
        return False

    @admin.action(description="Accept the catalog changes these runs held")
    def accept_held_changes(self, request: HttpRequest, queryset: QuerySet[SyncRun]) -> None:
        """Only changes still held from these runs: one a later sync replaced is not theirs."""
        held = HeldCatalogChange.objects.filter(sync_run__in=queryset).select_related("credential")
        _accept_held(self, request, [change.credential for change in held])

    actions = ["accept_held_changes"]


@admin.action(description="Sync models now")
def sync_now(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ProviderCredential]
) -> None:
    ids = list(queryset.filter(enabled=True).values_list("pk", flat=True))
    for pk in ids:
        transaction.on_commit(functools.partial(catalog_sync_credential_task.delay, pk))
    modeladmin.message_user(request, f"Queued a model sync for {len(ids)} credentials.")


@admin.action(description="Check status now")
def check_now(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ProviderCredential]
) -> None:
    ids = list(queryset.values_list("pk", flat=True))
    for pk in ids:
        transaction.on_commit(functools.partial(provider_check_task.delay, pk))
    modeladmin.message_user(
        request, f"Queued a status check for {len(ids)} credentials.", messages.INFO
    )


class ProviderCredentialWithJobsAdmin(ProviderCredentialAdmin):
    actions = [sync_now, check_now, accept_held_changes_of_credentials]


admin.site.unregister(ProviderCredential)
admin.site.register(ProviderCredential, ProviderCredentialWithJobsAdmin)
