"""The model browser: the workspace's free catalog, with filters, copyable ids and saving,
and the per-model override form for the workspace's own models."""

from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from catalog.families import capacity_text, family_entries
from catalog.forms import CAPABILITY_LABELS, LIMIT_LABELS, ModelOverrideForm, flag_word
from catalog.models import CatalogModel
from catalog.overrides import listed_of
from catalog.selectors import AUTO_FREE_ID, catalog_listing, catalog_model_get
from catalog.services import catalog_model_override
from gateway.chat.conversations import saved_model_ids, saved_model_toggle
from gateway.web.common import page, redirect_back, workspace_of
from gateway.web.forms import ModelFilterForm, SaveModelForm
from gateway.web.route_quota import workspace_quota_words
from providers.models import ProviderCredential


def _matches(entry: dict[str, Any], query: str) -> bool:
    keys = ("id", "name", "description", "family")
    text = " ".join(str(entry.get(key) or "") for key in keys)
    return query.lower() in text.lower()


def _provider_names(workspace_id: int) -> list[str]:
    names = ProviderCredential.objects.filter(workspace_id=workspace_id).values_list(
        "name", flat=True
    )
    return sorted(names)


def _overridden(workspace_id: int) -> dict[str, tuple[dict, dict]]:
    """public id -> (listed, overrides) of the workspace's overridden models, in one query."""
    rows = (
        CatalogModel.objects.filter(workspace_id=workspace_id, is_active=True)
        .exclude(overrides={})
        .values_list("public_id", "listed", "overrides")
    )
    return {public_id: (listed, overrides) for public_id, listed, overrides in rows}


def _hidden(workspace_id: int) -> list[Mapping[str, object]]:
    rows = CatalogModel.objects.filter(workspace_id=workspace_id, is_active=True, hidden=True)
    return list(rows.order_by("public_id").values("public_id", "name"))


def _override_notes(listed: dict, overrides: dict) -> list[str]:
    """ "context length 32768 (listed: 8192)" for each overridden fact."""
    notes = [
        f"{name.replace('_', ' ')} {overrides[name]} (listed: {listed.get(name) or 'unknown'})"
        for name in ("category", "context_length", "max_output_tokens", "family")
        if name in overrides
    ]
    listed_flags = listed.get("capabilities") or {}
    notes += [
        f"{name.replace('_', ' ')} {flag_word(value)} (listed: {flag_word(listed_flags.get(name))})"
        for name, value in (overrides.get("capabilities") or {}).items()
    ]
    notes += [
        f"{LIMIT_LABELS[name].lower()} {value}"
        for name, value in (overrides.get("limits") or {}).items()
        if name in LIMIT_LABELS
    ]
    return notes


def _value_rows(model: CatalogModel, listed: dict) -> list[tuple[str, str, str]]:
    """(field, listed by the provider, in use) for the edit page."""
    rows = [
        (label, str(listed.get(name) or "unknown"), str(getattr(model, name) or "unknown"))
        for name, label in (
            ("category", "Category"),
            ("context_length", "Context length"),
            ("max_output_tokens", "Max output"),
            ("family", "Family"),
        )
    ]
    listed_flags, flags = listed.get("capabilities") or {}, model.capabilities or {}
    rows += [
        (label, flag_word(listed_flags.get(name)), flag_word(flags.get(name)))
        for name, label in CAPABILITY_LABELS.items()
    ]
    return rows


def _card(entry: dict[str, Any], override: tuple[dict, dict] | None) -> dict[str, Any]:
    capabilities = entry["capabilities"] or {}
    return {
        **entry,
        "capability_names": [name for name, on in capabilities.items() if on],
        "capability_unknown": [name for name, on in capabilities.items() if on is None],
        "override_notes": _override_notes(*override) if override else [],
        "edit_url": reverse("model-edit", args=[entry["id"]]),
    }


def _family_card(family: dict[str, Any], routes: list[dict[str, Any]]) -> dict[str, Any]:
    capabilities = family["capabilities"]
    return {
        **family,
        "capacity_text": capacity_text(family["capacity"]),
        "capability_names": [name for name, on in capabilities.items() if on],
        "cards": routes,
    }


def _grouped(cards: list[dict[str, Any]], families: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One group per family (its model cards inside, each with its route state), then the
    models of no listed family, one group each."""
    listed = {family["id"]: family for family in families}
    states = {route["id"]: route["state"] for family in families for route in family["routes"]}
    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    groups = []
    for card in cards:
        if card.get("family") in listed:
            state = states.get(card["id"]) or "ok"
            label = state.replace("_", " ").capitalize()
            members[card["family"]].append({**card, "state": state, "state_label": label})
        else:
            groups.append({"model": card})
    family_groups = [
        {"family": _family_card(family, members[family_id])}
        for family_id, family in listed.items()
        if members[family_id]
    ]
    return family_groups + groups


@login_required
def models_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    providers = _provider_names(workspace.pk)
    form = ModelFilterForm(request.GET or None, providers=providers)
    filters = form.filters()
    query = filters.pop("q")
    entries = catalog_listing(workspace_id=workspace.pk, **filters)
    overridden = _overridden(workspace.pk)
    entries = [
        _card(e, overridden.get(e["id"]))
        for e in entries
        if e["id"] != AUTO_FREE_ID and (not query or _matches(e, query))
    ]
    quotas = workspace_quota_words(workspace, [entry["id"] for entry in entries])
    for entry in entries:
        entry["route_quota"] = quotas.get(entry["id"])
    context = {
        "form": form,
        "models": entries,
        "groups": _grouped(entries, family_entries(workspace_id=workspace.pk)),
        "hidden_models": _hidden(workspace.pk),
        "saved": saved_model_ids(workspace=workspace),
        "has_providers": bool(providers),
        "filtered": any(value is not None for value in filters.values()) or bool(query),
        "auto_free_id": AUTO_FREE_ID,
    }
    return page(request, "models.html", "models", context)


@login_required
@require_POST
def model_save_toggle(request: HttpRequest) -> HttpResponse:
    """Save a model of this workspace's catalog, or unsave it when already saved."""
    workspace = workspace_of(request)
    form = SaveModelForm(request.POST)
    if not form.is_valid():
        raise Http404("No such model.")
    model_id = form.cleaned_data["model_id"]
    known = model_id == AUTO_FREE_ID or model_id in saved_model_ids(workspace=workspace)
    if not known and catalog_model_get(workspace_id=workspace.pk, public_id=model_id) is None:
        raise Http404("No such model in this workspace.")
    saved_model_toggle(workspace=workspace, model_id=model_id)
    return redirect_back(request, "models")


@login_required
@require_http_methods(["GET", "POST"])
def model_edit(request: HttpRequest, model_id: str) -> HttpResponse:
    """Override a model's category, capabilities, limits, or hide it; a re-sync keeps them."""
    workspace = workspace_of(request)
    model = get_object_or_404(
        CatalogModel.objects.filter(workspace=workspace, is_active=True), public_id=model_id
    )
    form = ModelOverrideForm(request.POST or None, instance=model, label_suffix="")
    if request.method == "POST" and form.is_valid():
        catalog_model_override(
            model=model, overrides=form.overrides(), hidden=form.cleaned_data["hidden"]
        )
        messages.success(request, f"Saved the overrides of {model.public_id}.")
        return redirect("models")
    listed = listed_of(model)
    context = {
        "model": model,
        "form": form,
        "values": _value_rows(model, listed),
        "notes": _override_notes(listed, model.overrides or {}),
    }
    status = 400 if form.is_bound else 200
    return page(request, "model_edit.html", "models", context, status=status)
