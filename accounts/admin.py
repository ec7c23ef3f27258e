"""Admin for users, workspaces, API keys and (read-only) conversations. A key's hash is never
rendered."""

from django.contrib import admin
from django.contrib.auth import admin as auth_admin
from django.db.models import Count, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest

from .forms import UserChangeForm, UserCreateForm
from .models import ApiKey, Conversation, Membership, Message, User, Workspace
from .services import api_key_forget, api_key_revoke, workspace_for_user, workspace_keys_forget


@admin.register(User)
class UserAdmin(auth_admin.UserAdmin):
    form = UserChangeForm
    add_form = UserCreateForm
    ordering = ("email",)
    list_display = ("email", "name", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("name",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:  # every user gets a personal workspace, as on sign-up
            workspace_for_user(user=obj)


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "created_at")
    list_filter = ("is_active",)
    search_fields = ("name", "memberships__user__email")
    inlines = (MembershipInline,)

    def save_model(
        self, request: HttpRequest, obj: Workspace, form: ModelForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        workspace_keys_forget(workspace=obj)  # a deactivated workspace's keys stop at once


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "workspace", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("name", "prefix", "workspace__name")
    exclude = ("key_hash",)
    fields = (
        "name",
        "workspace",
        "created_by",
        "prefix",
        "rpm_limit",
        "rpd_limit",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    readonly_fields = (
        "workspace",
        "created_by",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    actions = ("revoke",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # keys are created in the web app or the CLI, where the plaintext is shown

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        api_keys = list(queryset)
        for api_key in api_keys:
            api_key_revoke(api_key=api_key)
        self.message_user(request, f"Revoked {len(api_keys)} API key(s).")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        api_key_forget(api_key=obj)  # new limits apply on the next request

    def delete_model(self, request: HttpRequest, obj: ApiKey) -> None:
        super().delete_model(request, obj)
        api_key_forget(api_key=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        api_keys = list(queryset)
        super().delete_queryset(request, queryset)
        for api_key in api_keys:
            api_key_forget(api_key=api_key)


class MessageInline(admin.TabularInline):
    model = Message
    fields = ("created_at", "role", "status", "model_id", "provider", "request_id", "content")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin):
    """The console's conversations, as their users left them: view only."""

    list_display = ("title", "workspace", "user", "model_id", "message_count", "updated_at")
    list_filter = (("workspace", admin.RelatedOnlyFieldListFilter), "model_id", "created_at")
    search_fields = ("title", "=messages__request_id")
    search_help_text = "A title, or a request id (gen-…) of one of its answers."
    date_hierarchy = "created_at"
    list_select_related = ("workspace", "user")
    fields = ("title", "workspace", "user", "model_id", "created_at", "updated_at")
    inlines = (MessageInline,)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Conversation]:
        return super().get_queryset(request).annotate(message_total=Count("messages"))

    @admin.display(description="messages", ordering="message_total")
    def message_count(self, conversation: Conversation) -> int:
        return conversation.message_total  # type: ignore[attr-defined]  # annotated above

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
