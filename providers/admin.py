"""ProviderCredential admin: the key is write-only (a "Replace key" field), shown only masked."""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import ProviderCredential
from .registry import KIND_CHOICES
from .services import clean_key, credential_replace_key, credential_validate

STATUS_FIELDS = (
    "state",
    "state_message",
    "checked_at",
    "check_latency_ms",
    "last_sync_at",
    "last_sync_error",
    "created_at",
    "updated_at",
)


class ProviderCredentialForm(forms.ModelForm[ProviderCredential]):
    provider = forms.ChoiceField(choices=KIND_CHOICES)
    name = forms.SlugField(
        max_length=40, required=False, help_text="Defaults to the provider's slug."
    )
    base_url = forms.URLField(max_length=500, required=False, assume_scheme="https")
    replace_key = forms.CharField(
        label="Replace key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Leave empty to keep the stored key. The key is never shown again.",
    )

    class Meta:
        model = ProviderCredential
        fields = ("workspace", "provider", "name", "base_url", "account_id", "enabled")

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        try:
            spec, data["name"] = credential_validate(
                provider=data.get("provider", ""),
                name=data.get("name") or "",
                base_url=data.get("base_url") or "",
                account_id=data.get("account_id") or "",
            )
            new_key = self.instance.pk is None
            data["replace_key"] = clean_key(spec, data.get("replace_key") or "", required=new_key)
        except ValidationError as error:
            errors = error.message_dict
            raise ValidationError(
                {("replace_key" if f == "api_key" else f): m for f, m in errors.items()}
            ) from None
        self.instance.name = data["name"]
        return data


@admin.register(ProviderCredential)
class ProviderCredentialAdmin(admin.ModelAdmin[ProviderCredential]):
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
    readonly_fields = ("masked_key", *STATUS_FIELDS)
    fieldsets = (
        (None, {"fields": ("workspace", "provider", "name", "enabled")}),
        ("Key", {"fields": ("masked_key", "replace_key")}),
        ("Connection", {"fields": ("base_url", "account_id")}),
        ("Status", {"fields": STATUS_FIELDS}),
    )

    @admin.display(description="key")
    def masked_key(self, obj: ProviderCredential) -> str:
        return obj.masked_key or "—"

    def get_queryset(self, request: HttpRequest) -> QuerySet[ProviderCredential]:
        return super().get_queryset(request).select_related("workspace")

    def save_model(
        self,
        request: HttpRequest,
        obj: ProviderCredential,
        form: forms.ModelForm[ProviderCredential],
        change: bool,
    ) -> None:
        super().save_model(request, obj, form, change)
        new_key = form.cleaned_data.get("replace_key")
        if new_key:
            credential_replace_key(credential=obj, api_key=new_key)
