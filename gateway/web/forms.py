"""Forms of the web app: parsing and validation only; the views call services with the result."""

from typing import Any, cast

from django import forms

from catalog.forms import LIMIT_LABELS, limit_field, limits_of
from catalog.models import CatalogModel

WORKING_CHOICES = [("", "Any"), ("yes", "Working"), ("no", "Not working")]
CATEGORY_CHOICES = [("", "All categories"), *CatalogModel.Category.choices]
MAX_PROMPT_CHARS = 100_000


class ModelFilterForm(forms.Form):
    q = forms.CharField(required=False, max_length=200, label="Search")
    category = forms.ChoiceField(required=False, choices=CATEGORY_CHOICES)
    provider = forms.ChoiceField(required=False, choices=[("", "All providers")])
    working = forms.ChoiceField(required=False, choices=WORKING_CHOICES, label="Health")

    def __init__(self, *args: Any, providers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [("", "All providers"), *((name, name) for name in providers)]
        cast(forms.ChoiceField, self.fields["provider"]).choices = choices

    def filters(self) -> dict[str, Any]:
        """The valid filters; an invalid value (a stale link) is ignored, not an error page."""
        self.is_valid()
        data = getattr(self, "cleaned_data", {})
        working = {"yes": True, "no": False}.get(data.get("working") or "")
        return {
            "q": (data.get("q") or "").strip(),
            "category": data.get("category") or None,
            "provider": data.get("provider") or None,
            "working": working,
        }


class SaveModelForm(forms.Form):
    model_id = forms.CharField(max_length=300)


class ChatSendForm(forms.Form):
    content = forms.CharField(
        max_length=MAX_PROMPT_CHARS,
        strip=True,
        error_messages={"required": "Write a message first."},
    )
    model = forms.CharField(max_length=300, error_messages={"required": "Pick a model."})
    conversation = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)


class RenameForm(forms.Form):
    title = forms.CharField(
        max_length=200, strip=True, error_messages={"required": "A title cannot be empty."}
    )


class CredentialForm(forms.Form):
    """One provider key; the key is write-only (never rendered back into the page)."""

    name = forms.CharField(required=False, max_length=40, label="Name")
    api_key = forms.CharField(
        required=False,
        max_length=4096,
        strip=True,
        label="API key",
        widget=forms.PasswordInput(
            render_value=False, attrs={"autocomplete": "off", "spellcheck": "false"}
        ),
    )
    account_id = forms.CharField(required=False, max_length=100, label="Account id")
    base_url = forms.CharField(required=False, max_length=500, label="Base URL")
    form_key = forms.CharField(required=False, widget=forms.HiddenInput)


class CredentialLimitsForm(forms.Form):
    """A key's free-tier limits; a blank field keeps the provider's documented number."""

    rpm = limit_field()
    rpd = limit_field()
    tpm = limit_field()
    tpd = limit_field()

    def __init__(self, *args: Any, documented: dict[str, int], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, label in LIMIT_LABELS.items():
            self.fields[name].label = label
            self.fields[name].help_text = f"Blank: {documented.get(name) or 'none'}"

    def limits(self) -> dict[str, int]:
        return limits_of(self.cleaned_data)
