"""Admin for the free-model registry, sync history and provider credentials.

The ProviderCredential admin lives here rather than in providers: its saves and deletes go
through the credential lifecycle (catalog.credentials), which drops the cached routes and queues
the model sync, and its actions queue catalog jobs. The key is write-only (providers.forms).
"""

import json

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from catalog.credentials import (
    credential_delete,
    credential_edit,
    credentials_check_queue,
    credentials_delete,
    credentials_sync_queue,
)
from catalog.forms import ModelOverrideForm
from catalog.models import CatalogModel, HeldCatalogChange, SyncRun
from catalog.overrides import CAPABILITY_NAMES, listed_of
from catalog.services import catalog_held_accept, catalog_invalidate, catalog_model_override
from providers.forms import ProviderCredentialForm
from providers.models import LIMIT_NAMES, ProviderCredential

CREDENTIAL_STATUS_FIELDS = (
    "state",
    "state_message",
    "checked_at",
    "check_latency_ms",
    "last_sync_at",
    "last_sync_error",
    "created_at",
    "updated_at",
)


# What a sync writes (read-only here) and the effective values routing uses.
SYNCED_FIELDS = (
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
EFFECTIVE_FIELDS = ("category", "family", "capabilities", "context_length", "max_output_tokens")


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
        "family",
        "context_length",
        "is_active",
        "hidden",
        "overridden",
        "credential_state",
        "last_seen",
    )
    list_filter = ("provider", "category", "is_active", "hidden")
    search_fields = ("public_id", "family")
    list_select_related = ("workspace", "credential")
    readonly_fields = (*SYNCED_FIELDS, *EFFECTIVE_FIELDS, "listed_values", "overrides")
    fieldsets = (
        (
            None,
            {"fields": SYNCED_FIELDS},
        ),
        (
            "Effective values (what routing and /v1/models use)",
            {"fields": EFFECTIVE_FIELDS},
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
                    "override_family",
                    *(f"override_{name}" for name in CAPABILITY_NAMES),
                    *(f"override_{name}" for name in LIMIT_NAMES),
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
    ids = credentials_sync_queue(credentials=queryset)
    modeladmin.message_user(request, f"Queued a model sync for {len(ids)} credentials.")


@admin.action(description="Check status now")
def check_now(
    modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ProviderCredential]
) -> None:
    ids = credentials_check_queue(credentials=queryset)
    modeladmin.message_user(
        request, f"Queued a status check for {len(ids)} credentials.", messages.INFO
    )


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin):
    form = ProviderCredentialForm
    list_display = (
        "name",
        "provider",
        "workspace",
        "masked_key",
        "enabled",
        "state",
        "state_message",
        "checked_at",
    )
    list_filter = ("provider", "state", "enabled")
    search_fields = ("name", "workspace__name")
    list_select_related = ("workspace",)
    readonly_fields = ("masked_key", *CREDENTIAL_STATUS_FIELDS)
    fieldsets = (
        (None, {"fields": ("workspace", "provider", "name", "enabled")}),
        ("Key", {"fields": ("masked_key", "replace_key")}),
        ("Connection", {"fields": ("base_url", "account_id")}),
        ("Free-tier limits", {"fields": ("limits",)}),
        ("Status", {"fields": CREDENTIAL_STATUS_FIELDS}),
    )
    actions = [sync_now, check_now, accept_held_changes_of_credentials]

    @admin.display(description="key")
    def masked_key(self, obj: ProviderCredential) -> str:
        return obj.masked_key or "—"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProviderCredential]:
        return super().get_queryset(request).select_related("workspace")

    def get_readonly_fields(
        self, request: HttpRequest, obj: ProviderCredential | None = None
    ) -> tuple[str, ...]:
        # Its catalog models and cached routes belong to the workspace it was saved in: moving
        # it would leave them routing through another tenant's key.
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if obj is None else ("workspace", *fields)

    def save_model(
        self,
        request: HttpRequest,
        obj: ProviderCredential,
        form: ProviderCredentialForm,
        change: bool,
    ) -> None:
        credential_edit(credential=obj, api_key=form.cleaned_data.get("replace_key") or "")

    def delete_model(self, request: HttpRequest, obj: ProviderCredential) -> None:
        credential_delete(credential=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ProviderCredential]) -> None:
        credentials_delete(credentials=queryset)
