"""The model browser: the workspace's free catalog, with filters, copyable ids and saving."""

from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from catalog.selectors import AUTO_FREE_ID, catalog_listing, catalog_model_get
from gateway.conversations import saved_model_ids, saved_model_toggle
from providers.models import ProviderCredential

from .common import page, redirect_back, workspace_of
from .forms import ModelFilterForm, SaveModelForm


def _matches(entry: dict[str, Any], query: str) -> bool:
    text = " ".join(str(entry.get(key) or "") for key in ("id", "name", "description"))
    return query.lower() in text.lower()


def _provider_names(workspace_id: int) -> list[str]:
    names = ProviderCredential.objects.filter(workspace_id=workspace_id).values_list(
        "name", flat=True
    )
    return sorted(names)


@login_required
def models_page(request: HttpRequest) -> HttpResponse:
    workspace = workspace_of(request)
    providers = _provider_names(workspace.pk)
    form = ModelFilterForm(request.GET or None, providers=providers)
    filters = form.filters()
    query = filters.pop("q")
    entries = catalog_listing(workspace_id=workspace.pk, **filters)
    entries = [
        {**e, "capability_names": [name for name, on in (e["capabilities"] or {}).items() if on]}
        for e in entries
        if e["id"] != AUTO_FREE_ID and (not query or _matches(e, query))
    ]
    context = {
        "form": form,
        "models": entries,
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
