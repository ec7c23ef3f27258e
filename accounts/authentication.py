from dataclasses import dataclass

from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from .models import ApiKey, Workspace
from .services import api_key_authenticate

INVALID_KEY_MESSAGE = (
    "Invalid API key. Pass a valid OpenProvider key as 'Authorization: Bearer opk_live_…'."
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


class ApiKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer opk_live_…`; every failure gives the same 401 body."""

    def authenticate(self, request: Request) -> tuple[KeyPrincipal, ApiKey] | None:
        header = get_authorization_header(request)
        if not header:
            return None
        scheme, _, token = header.partition(b" ")
        if scheme != b"Bearer" or not token:
            raise InvalidApiKey()
        try:
            plaintext = token.decode("ascii").strip()
        except UnicodeDecodeError:
            raise InvalidApiKey() from None
        api_key = api_key_authenticate(plaintext)
        if api_key is None:
            raise InvalidApiKey()
        return KeyPrincipal(workspace=api_key.workspace), api_key

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"
