"""Helpers shared by the web views: the signed-in workspace, page rendering, safe redirects."""

from typing import Any

from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponsePermanentRedirect,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from accounts.authentication import signed_in_user
from accounts.models import Workspace
from accounts.services import workspace_for_user


def workspace_of(request: HttpRequest) -> Workspace:
    return workspace_for_user(user=signed_in_user(request))


def page(
    request: HttpRequest,
    template: str,
    section: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
) -> HttpResponse:
    """Render a page; `section` marks the current navigation entry."""
    return render(request, template, {"section": section, **(context or {})}, status=status)


def moved_to_account(request: HttpRequest, rest: str) -> HttpResponsePermanentRedirect:
    """A permanent redirect from a retired /accounts/ path to its /account/ one; 308 keeps the
    method and body, so an old form or bookmark still works."""
    target = "/account/" + rest
    if request.META.get("QUERY_STRING"):
        target += "?" + request.META["QUERY_STRING"]
    return HttpResponsePermanentRedirect(target, preserve_request=True)


def redirect_back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    """Back to the posted `next` when it is a path on this site, else to `fallback`."""
    target = request.POST.get("next", "")
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return HttpResponseRedirect(target)
    return redirect(fallback)
