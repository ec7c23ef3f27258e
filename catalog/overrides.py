"""Operator overrides of a model's listed facts: pure rules shared by sync, admin and web.

A sync stores what the provider listed in `CatalogModel.listed` and writes the effective
columns as the listed values with `CatalogModel.overrides` on top, so routing and /v1/models
keep filtering in SQL on the columns they always used, and a re-sync never clobbers an
override. Capability overrides apply per flag (true, false, or null for "unknown"). A family
override merges a model into another family (the same id) or splits it off (a new id, or ""
for none).
"""

from typing import Any

from django.core.exceptions import ValidationError

from catalog.validation import MAX_INT
from providers.families import MAX_FAMILY, valid_family
from providers.models import validate_limits
from providers.registry import documented_limits
from providers.wire import CATEGORIES

SCALARS = ("category", "context_length", "max_output_tokens", "family")
OVERRIDABLE = (*SCALARS, "capabilities")
CAPABILITY_NAMES = ("tools", "vision", "structured_output", "streaming")
OVERRIDE_KEYS = (*OVERRIDABLE, "limits")


def model_limits(model: Any) -> dict[str, int]:
    """The operator's limits for this one model ({} when none are set)."""
    return _own_limits(model.overrides)


def _own_limits(overrides: Any) -> dict[str, int]:
    limits = (overrides or {}).get("limits") if isinstance(overrides, dict | None) else None
    return limits if isinstance(limits, dict) else {}


def layered_limits(provider: str, credential_limits: Any, overrides: Any) -> dict[str, int]:
    """The rule routing counts by: the registry row's documented limits, the key's on top, the
    model's own (its `limits` override) over both."""
    operator = credential_limits if isinstance(credential_limits, dict) else {}
    return {**documented_limits(provider), **operator, **_own_limits(overrides)}


def credential_limits(credential: Any) -> dict[str, int]:
    """A key's limits: the operator's over the registry row's documented ones."""
    return {**documented_limits(credential.provider), **(credential.limits or {})}


def inherited_limits(model: Any) -> dict[str, int]:
    """What a model without its own limits gets: its credential's (see credential_limits)."""
    return {**documented_limits(model.provider), **(model.credential.limits or {})}


def effective_limits(model: Any) -> dict[str, int]:
    """The limits routing counts against: the model's own over the inherited ones."""
    return layered_limits(model.provider, model.credential.limits, model.overrides)


def listed_part(fields: dict[str, Any]) -> dict[str, Any]:
    """The overridable facts of a sync row: what the provider listed."""
    return {name: fields.get(name) for name in OVERRIDABLE}  # a held listing may predate one


def listed_of(model: Any) -> dict[str, Any]:
    """What the provider listed for a stored model; a fact never synced since it was stored
    (overrides, families) is still exactly what its column holds."""
    return {**{name: getattr(model, name) for name in OVERRIDABLE}, **(model.listed or {})}


def effective_fields(listed: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The listed facts with the operator's overrides on top."""
    values = {name: overrides.get(name, listed.get(name)) for name in SCALARS}
    values["family"] = values["family"] or ""
    values["capabilities"] = {
        **(listed.get("capabilities") or {}),
        **(overrides.get("capabilities") or {}),
    }
    return values


def clean_overrides(overrides: dict[str, Any]) -> dict[str, Any]:
    """Only known fields with valid values; raises ValidationError naming the field."""
    unknown = set(overrides) - set(OVERRIDE_KEYS)
    if unknown:
        raise ValidationError(f"Unknown override: {', '.join(sorted(unknown))}.")
    clean: dict[str, Any] = {}
    if "category" in overrides:
        if overrides["category"] not in CATEGORIES:
            raise ValidationError({"category": "Choose text, vision, image or speech."})
        clean["category"] = overrides["category"]
    for name in ("context_length", "max_output_tokens"):
        if name in overrides:
            value = overrides[name]
            if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_INT:
                raise ValidationError({name: "Enter a whole number of tokens above 0."})
            clean[name] = value
    if "family" in overrides:
        try:
            clean["family"] = clean_family(overrides["family"])
        except ValidationError as error:
            raise ValidationError({"family": error.messages}) from None
    capabilities = overrides.get("capabilities") or {}
    if set(capabilities) - set(CAPABILITY_NAMES) or any(
        value is not None and not isinstance(value, bool) for value in capabilities.values()
    ):
        raise ValidationError(
            {
                "capabilities": "Set tools, vision, structured output or streaming to yes, no or "
                "unknown."
            }
        )
    if capabilities:
        clean["capabilities"] = dict(capabilities)
    if overrides.get("limits"):
        try:
            validate_limits(overrides["limits"])
        except ValidationError as error:
            raise ValidationError({"limits": error.messages}) from error
        clean["limits"] = dict(overrides["limits"])
    return clean


def clean_family(value: object) -> str:
    """A family id as an operator may set it: the shape families have, or "" for none."""
    family = value.strip().lower() if isinstance(value, str) else None
    if family is None or (family and not valid_family(family)):
        raise ValidationError(
            f"Enter a family id of at most {MAX_FAMILY} characters: lowercase letters, digits, "
            "'.', '-' and '_', no '/' (e.g. llama-3.3-70b-instruct)."
        )
    return family
