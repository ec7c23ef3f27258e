"""The credential admin's form: the key is write-only (a "Replace key" field, never rendered)."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from .models import ProviderCredential
from .registry import KIND_CHOICES
from .services import clean_key, credential_validate


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
        fields = ("workspace", "provider", "name", "base_url", "account_id", "limits", "enabled")

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
