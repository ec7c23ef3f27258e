from dataclasses import dataclass
from typing import cast

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.request import Request

from .clients import AuthFailuresExceeded, client_address
from .models import ApiKey, User, Workspace
from .services import api_key_authenticate

INVALID_KEY_MESSAGE = (
    "Invalid API key. Pass a valid OpenProvider key as 'Authorization: Bearer opk_live_…'."
)
# As OpenAI tells a missing key from a wrong one (its `invalid_api_key` is for a wrong key only).
MISSING_KEY_MESSAGE = (
    "No API key provided. Pass your OpenProvider key as 'Authorization: Bearer opk_live_…'."
)


@dataclass(frozen=True)
class KeyPrincipal:
    """The caller of a /v1 route: the workspace that owns the presented key."""

    workspace: Workspace
    is_authenticated: bool = True
    is_active: bool = True
    is_staff: bool = False


class InvalidApiKey(AuthenticationFailed):
    default_detail = INVALID_KEY_MESSAGE
    default_code = "invalid_api_key"


class MissingApiKey(AuthenticationFailed):
    default_detail = MISSING_KEY_MESSAGE
    default_code = "missing_api_key"


class TooManyAuthFailures(Throttled):
    default_detail = "Too many requests with invalid API keys from this address; slow down."
    default_code = "too_many_auth_failures"


def _authorization_header(request: Request) -> str:
    # Read META directly: DRF's helper re-encodes to latin-1 and raises on other characters.
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if isinstance(header, bytes):
        header = header.decode("latin-1")
    return header


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer opk_live_…`; every wrong key gives the same 401 body, and a
    missing one (no header, or `Bearer` without a token) says so."""

    def authenticate(self, request: Request) -> tuple[KeyPrincipal, ApiKey] | None:
        header = _authorization_header(request)
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer":
            token = ""  # counted as a failure like any other bad key
        try:
            api_key = api_key_authenticate(token, client=client_address(request.META))
        except AuthFailuresExceeded as refused:
            raise TooManyAuthFailures(wait=refused.retry_after) from None
        if api_key is None:
            raise MissingApiKey() if scheme == "Bearer" and not token.strip() else InvalidApiKey()
        return KeyPrincipal(workspace=api_key.workspace), api_key

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"


def signed_in_user(request: HttpRequest) -> User:
    """The user of a login_required page (never anonymous there)."""
    if not isinstance(request.user, User):
        raise PermissionDenied
    return request.user


def key_of(request: Request) -> ApiKey:
    """The key ApiKeyAuthentication accepted (every /v1 view requires one)."""
    return cast(ApiKey, request.auth)


def caller_workspace(request: Request) -> Workspace:
    """The workspace of the key's principal (ApiKeyAuthentication's request.user)."""
    return cast(KeyPrincipal, request.user).workspace
