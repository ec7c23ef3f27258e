"""Provider setup: every supported provider, the workspace's keys (write-only) and their syncs."""

import logging
import re
import time
from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Workspace
from catalog.credentials import (
    credential_delete,
    credential_limits_set,
    credential_save,
    credential_sync_queue,
)
from catalog.models import CatalogModel
from catalog.selectors import last_sync_results
from catalog.sync_status import DONE, credential_sync_status
from providers.models import ProviderCredential
from providers.registry import PROVIDERS, documented_limits
from providers.spec import ProviderSpec

from .common import page, workspace_of
from .forms import CredentialForm, CredentialLimitsForm
from .route_quota import credential_quota_words

logger = logging.getLogger(__name__)
FORM_KEY = re.compile(r"cred\d{1,12}|[a-z0-9_-]{1,32}")  # which form on the page was posted


def shows_base_url(spec: ProviderSpec) -> bool:
    return spec.needs_base_url or spec.auth == "none"


def _form(key: str, data: Any = None, initial: dict[str, str] | None = None) -> CredentialForm:
    initial = {**(initial or {}), "form_key": key}
    return CredentialForm(data, initial=initial, auto_id=f"{key}-%s", label_suffix="")


def _limits_form(credential: ProviderCredential, data: Any = None) -> CredentialLimitsForm:
    return CredentialLimitsForm(
        data,
        initial=credential.limits or {},
        documented=documented_limits(credential.provider),
        auto_id=f"limits{credential.pk}-%s",
        label_suffix="",
    )


def _credential_row(
    credential: ProviderCredential,
    counts: dict[int, int],
    synced: dict[str, dict[str, Any]],
    routes: dict[int, list[dict[str, Any]]],
    since: datetime | None = None,
) -> dict[str, Any]:
    initial = {
        "name": credential.name,
        "base_url": credential.base_url,
        "account_id": credential.account_id,
    }
    return {
        "credential": credential,
        "models": counts.get(credential.pk, 0),
        "price_unreadable": synced.get(credential.name, {}).get("price_unreadable", 0),
        "form": _form(f"cred{credential.pk}", initial=initial),
        # The page watches a sync still owed (after a save or "Sync now") until it is done.
        "syncing": credential_sync_status(credential=credential, since=since)["phase"] != DONE
        and credential.enabled,
        "since": int(since.timestamp()) if since else None,
        "limits_form": _limits_form(credential),
        "routes": routes.get(credential.pk, []),
        "routes_not_ok": sum(1 for r in routes.get(credential.pk, []) if r["state"] != "ok"),
    }


def provider_rows(
    workspace: Workspace,
    bound: CredentialForm | None = None,
    sync_asked: tuple[int, datetime] | None = None,
    bound_limits: tuple[int, CredentialLimitsForm] | None = None,
) -> list[dict]:
    """One row per registry entry with the workspace's credentials and their forms;
    `sync_asked` is (credential id, when) for a sync just asked for."""
    credentials = list(ProviderCredential.objects.filter(workspace=workspace))
    counts = dict(
        CatalogModel.objects.filter(workspace=workspace, is_active=True)
        .values_list("credential")
        .annotate(n=Count("id"))
    )
    synced = last_sync_results(workspace_id=workspace.pk, names=[c.name for c in credentials])
    routes = credential_quota_words(workspace)
    rows = []
    for spec in PROVIDERS.values():
        mine = [
            _credential_row(c, counts, synced, routes, _since(c, sync_asked))
            for c in credentials
            if c.provider == spec.slug
        ]
        needs_new = spec.enabled and (spec.slug == "custom" or not mine)
        rows.append(
            {
                "spec": spec,
                "credentials": mine,
                "new_form": _form(spec.slug) if needs_new else None,
                "shows_base_url": shows_base_url(spec),
                "limits": sorted(spec.limits.items()),
            }
        )
    if bound is not None:
        _attach(rows, bound)
    if bound_limits is not None:
        _attach_limits(rows, *bound_limits)
    return rows


def _since(credential: ProviderCredential, asked: tuple[int, datetime] | None) -> datetime | None:
    return asked[1] if asked and asked[0] == credential.pk else None


def _sync_asked(request: HttpRequest) -> tuple[int, datetime] | None:
    """The credential whose sync the previous page asked for, and when (the redirect's query)."""
    try:
        pk, since = int(request.GET["syncing"]), int(request.GET["since"])
        return pk, datetime.fromtimestamp(since, tz=UTC)
    except (KeyError, ValueError, OverflowError, OSError):
        return None


def _attach(rows: list[dict], bound: CredentialForm) -> None:
    """Show a form that failed validation in its place, with its errors."""
    key = bound.initial.get("form_key", "")
    for row in rows:
        if row["spec"].slug == key and row["new_form"] is not None:
            row["new_form"] = bound
        for item in row["credentials"]:
            if f"cred{item['credential'].pk}" == key:
                item["form"] = bound


def _attach_limits(rows: list[dict], pk: int, form: CredentialLimitsForm) -> None:
    for row in rows:
        for item in row["credentials"]:
            if item["credential"].pk == pk:
                item["limits_form"] = form


@never_cache
@login_required
def providers_page(request: HttpRequest) -> HttpResponse:
    rows = provider_rows(workspace_of(request), sync_asked=_sync_asked(request))
    return page(request, "account/providers.html", "account", {"rows": rows})


@never_cache
@login_required
@require_GET
def credential_status_view(request: HttpRequest, pk: int) -> JsonResponse:
    """The credential's sync phase and result, polled by the provider setup page."""
    credential = credential_of(request, pk)
    asked = _sync_asked(request)
    since = asked[1] if asked and asked[0] == credential.pk else None
    return JsonResponse(credential_sync_status(credential=credential, since=since))


@sensitive_post_parameters("api_key")
@login_required
@require_POST
def provider_save(request: HttpRequest, slug: str) -> HttpResponse:
    """Save or replace the workspace's key for a provider, then queue a sync."""
    if slug not in PROVIDERS:
        raise Http404("Unknown provider.")
    workspace = workspace_of(request)
    key = request.POST.get("form_key", "")
    key = key if FORM_KEY.fullmatch(key) else slug
    form = _form(key, request.POST)
    if form.is_valid():
        try:
            data = form.cleaned_data
            credential = credential_save(
                workspace=workspace,
                provider=slug,
                name=data["name"],
                api_key=data["api_key"],
                base_url=data["base_url"],
                account_id=data["account_id"],
            )
        except ValidationError as error:
            _add_errors(form, error)
        else:
            messages.success(request, f"Saved {credential.name}. Its models are being synced.")
            return redirect(reverse("account-providers") + f"#provider-{slug}")
    context = {"rows": provider_rows(workspace, bound=form)}
    return page(request, "account/providers.html", "account", context, status=400)


def _add_errors(form: CredentialForm, error: ValidationError) -> None:
    if not hasattr(error, "error_dict"):
        form.add_error(None, error)
        return
    for field, errors in error.message_dict.items():
        form.add_error(field if field in form.fields else None, errors)


def credential_of(request: HttpRequest, pk: int) -> ProviderCredential:
    workspace = workspace_of(request)
    return get_object_or_404(ProviderCredential.objects.filter(workspace=workspace), pk=pk)


@login_required
@require_POST
def credential_delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    credential = credential_of(request, pk)
    name = credential.name
    credential_delete(credential=credential)
    messages.success(request, f"Deleted {name} and the models found through it.")
    return redirect("account-providers")


@login_required
@require_POST
def credential_limits_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Set a key's free-tier limits (blank fields keep the documented ones)."""
    credential = credential_of(request, pk)
    form = _limits_form(credential, request.POST)
    if form.is_valid():
        credential_limits_set(credential=credential, limits=form.limits())
        messages.success(request, f"Saved the limits of {credential.name}.")
        return redirect(reverse("account-providers") + f"#provider-{credential.provider}")
    rows = provider_rows(workspace_of(request), bound_limits=(credential.pk, form))
    return page(request, "account/providers.html", "account", {"rows": rows}, status=400)


@login_required
@require_POST
def credential_sync_view(request: HttpRequest, pk: int) -> HttpResponse:
    credential = credential_of(request, pk)
    asked = int(time.time())
    if credential_sync_queue(credential=credential):
        messages.success(request, f"Sync of {credential.name} queued.")
        query = urlencode({"syncing": credential.pk, "since": asked})
        return redirect(f"{reverse('account-providers')}?{query}#provider-{credential.provider}")
    messages.error(request, f"{credential.name} is disabled; enable it before syncing.")
    return redirect(reverse("account-providers") + f"#provider-{credential.provider}")
