"""The operator's per-model override form, shared by the admin and the web Models page.

Each field's empty choice means "as the provider lists it"; the label shows that listed value,
so the form itself shows both. Saving goes through catalog.services.catalog_model_override.
"""

from typing import Any, cast

from django import forms

from catalog.models import CatalogModel
from catalog.overrides import (
    CAPABILITY_NAMES,
    clean_family,
    inherited_limits,
    listed_of,
    model_limits,
)
from catalog.validation import MAX_INT
from providers.families import MAX_FAMILY
from providers.models import LIMIT_NAMES

NO_FAMILY = "none"  # typed in the family field: this model belongs to no family

FLAG_VALUES = {"yes": True, "no": False, "unknown": None}
FLAG_WORDS = {True: "yes", False: "no", None: "unknown"}
CAPABILITY_LABELS = {
    "tools": "Tool calling",
    "vision": "Vision (image input)",
    "structured_output": "Structured output",
    "streaming": "Streaming",
}


LIMIT_LABELS = {
    "rpm": "Requests per minute",
    "rpd": "Requests per day",
    "tpm": "Tokens per minute",
    "tpd": "Tokens per day",
}


def limit_field() -> forms.IntegerField:
    return forms.IntegerField(required=False, min_value=1, max_value=MAX_INT)


def limits_of(data: dict[str, Any], prefix: str = "") -> dict[str, int]:
    """{"rpm": n, ...} of the limit fields filled in (blank ones are absent)."""
    return {
        name: data[f"{prefix}{name}"]
        for name in LIMIT_NAMES
        if data.get(f"{prefix}{name}") is not None
    }


def flag_word(value: Any) -> str:
    """yes / no / unknown (a flag the provider does not list is unknown to routing too)."""
    return FLAG_WORDS[value] if value is None or isinstance(value, bool) else "unknown"


def listed_label(value: Any) -> str:
    return "unknown" if value in (None, "") else str(value)


class ModelOverrideForm(forms.ModelForm):
    """hidden plus one `override_*` field per overridable fact (empty: as listed)."""

    override_category = forms.ChoiceField(required=False, label="Category")
    override_context_length = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_INT, label="Context length (tokens)"
    )
    override_max_output_tokens = forms.IntegerField(
        required=False, min_value=1, max_value=MAX_INT, label="Max output (tokens)"
    )
    override_family = forms.CharField(
        required=False, max_length=MAX_FAMILY, label="Family (the same model on other providers)"
    )
    # Declared here (not only in __init__) so the admin's fieldsets may name them.
    override_tools = forms.ChoiceField(required=False, label=CAPABILITY_LABELS["tools"])
    override_vision = forms.ChoiceField(required=False, label=CAPABILITY_LABELS["vision"])
    override_structured_output = forms.ChoiceField(
        required=False, label=CAPABILITY_LABELS["structured_output"]
    )
    override_streaming = forms.ChoiceField(required=False, label=CAPABILITY_LABELS["streaming"])
    override_rpm = limit_field()
    override_rpd = limit_field()
    override_tpm = limit_field()
    override_tpd = limit_field()

    class Meta:
        model = CatalogModel
        fields = ("hidden",)
        labels = {"hidden": "Hide this model"}
        help_texts = {"hidden": "Hidden models are not listed in /v1/models and not routable."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        listed = listed_of(self.instance) if self.instance.pk else {}
        overrides = self.instance.overrides or {}
        cast(forms.ChoiceField, self.fields["override_category"]).choices = [
            ("", f"As listed ({listed_label(listed.get('category'))})"),
            *CatalogModel.Category.choices,
        ]
        self.fields["override_category"].initial = overrides.get("category", "")
        for name in ("context_length", "max_output_tokens"):
            field = self.fields[f"override_{name}"]
            field.initial = overrides.get(name)
            field.help_text = f"Empty: as listed ({listed_label(listed.get(name))})."
        family = self.fields["override_family"]
        family.initial = overrides.get("family", "")
        if family.initial == "":
            family.initial = NO_FAMILY if "family" in overrides else ""
        family.help_text = (
            f"Empty: as listed ({listed_label(listed.get('family'))}). Enter another model's "
            f"family id to merge this model into it, a new id to split it off, or "
            f"'{NO_FAMILY}' for no family."
        )
        listed_flags = listed.get("capabilities") or {}
        flag_overrides = overrides.get("capabilities") or {}
        for name in CAPABILITY_NAMES:
            field = cast(forms.ChoiceField, self.fields[f"override_{name}"])
            field.choices = [
                ("", f"As listed ({flag_word(listed_flags.get(name))})"),
                ("yes", "Yes"),
                ("no", "No"),
                ("unknown", "Unknown"),
            ]
            field.initial = flag_word(flag_overrides[name]) if name in flag_overrides else ""
        self._init_limits()

    def _init_limits(self) -> None:
        own = model_limits(self.instance) if self.instance.pk else {}
        inherited = inherited_limits(self.instance) if self.instance.pk else {}
        for name, label in LIMIT_LABELS.items():
            field = self.fields[f"override_{name}"]
            field.label, field.initial = label, own.get(name)
            field.help_text = f"Empty: the credential's ({inherited.get(name) or 'none'})."

    def clean_override_family(self) -> str:
        family = (self.cleaned_data.get("override_family") or "").strip().lower()
        return family if family in ("", NO_FAMILY) else clean_family(family)

    def overrides(self) -> dict[str, Any]:
        """The overrides the cleaned form sets (fields left as listed are absent)."""
        data = self.cleaned_data
        overrides: dict[str, Any] = {}
        if data.get("override_category"):
            overrides["category"] = data["override_category"]
        for name in ("context_length", "max_output_tokens"):
            if data.get(f"override_{name}") is not None:
                overrides[name] = data[f"override_{name}"]
        family = (data.get("override_family") or "").strip().lower()
        if family:
            overrides["family"] = "" if family == NO_FAMILY else family
        flags = {
            name: FLAG_VALUES[data[f"override_{name}"]]
            for name in CAPABILITY_NAMES
            if data.get(f"override_{name}")
        }
        if flags:
            overrides["capabilities"] = flags
        limits = limits_of(data, "override_")
        if limits:
            overrides["limits"] = limits
        return overrides
