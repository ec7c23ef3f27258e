"""Sign-in, sign-up and sign-out, and the API keys page (under /account/)."""

import base64

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import LoginView, LogoutView
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from accounts.authentication import signed_in_user
from accounts.forms import ApiKeyCreateForm, SignInForm, SignUpForm
from accounts.selectors import api_key_list
from accounts.services import api_key_create, api_key_revoke, workspace_for_user
from providers.encryption import SecretUnreadable, decrypt_secret, encrypt_secret


class SignInView(LoginView):
    """Django's login view: rotates the session key and refuses off-site `next=` targets."""

    template_name = "auth/signin.html"
    authentication_form = SignInForm
    redirect_authenticated_user = True


class SignOutView(LogoutView):
    """POST only (a link or image cannot sign anyone out); flushes the session."""

    http_method_names = ["post", "options"]


@sensitive_post_parameters("password1", "password2")
def signup(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "auth/signup.html", {"form": form})


NEW_KEY_SESSION = "new_api_key"


def _remember_new_key(request: HttpRequest, plaintext: str) -> None:
    """Keep the new key for the next page view only, encrypted like provider keys: the session
    is stored server-side, and a key must never sit there readable."""
    request.session[NEW_KEY_SESSION] = base64.b64encode(encrypt_secret(plaintext)).decode()


def _pop_new_key(request: HttpRequest) -> str | None:
    sealed = request.session.pop(NEW_KEY_SESSION, None)
    if not isinstance(sealed, str):
        return None
    try:
        return decrypt_secret(base64.b64decode(sealed))
    except (ValueError, SecretUnreadable):  # sealed with a key rotated away since: gone
        return None


def _render_keys(
    request: HttpRequest, form: ApiKeyCreateForm, *, status: int = 200
) -> HttpResponse:
    workspace = workspace_for_user(user=signed_in_user(request))
    context = {
        "form": form,
        "api_keys": api_key_list(workspace=workspace),
        "created_plaintext": _pop_new_key(request) if request.method == "GET" else None,
        "section": "account",  # highlights Account in the main nav
        "subsection": "keys",
    }
    return render(request, "account/keys.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def api_keys(request: HttpRequest) -> HttpResponse:
    """List the workspace's keys; POST creates one and redirects, and the next page view shows
    its plaintext once (a reload neither creates another key nor shows this one again)."""
    form = ApiKeyCreateForm(request.POST or None)
    if request.method == "POST":
        if not form.is_valid():
            return _render_keys(request, form, status=400)
        created = api_key_create(
            workspace=workspace_for_user(user=signed_in_user(request)),
            name=form.cleaned_data["name"],
            created_by=signed_in_user(request),
        )
        _remember_new_key(request, created.plaintext)
        return redirect("accounts:keys")
    return _render_keys(request, form)


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    workspace = workspace_for_user(user=signed_in_user(request))
    api_key = get_object_or_404(api_key_list(workspace=workspace), pk=key_id)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"Revoked “{api_key.name}” ({api_key.prefix}…).")
    return redirect("accounts:keys")
