"""Writes on provider credentials: save, delete, check, and re-encryption after key rotation.

These write the rows only: the web pages, the admin and the CLI go through the credential
lifecycle (catalog.credentials), which also drops the cached routes and queues the model sync.
Keys are never logged: messages name the credential by id, and upstream text is sanitized.
"""

import logging
import re
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Workspace

from .encryption import SecretUnreadable, unseal
from .errors import ProviderError, sanitize
from .models import ProviderCredential
from .netguard import is_never_allowed, parse_ip_literal, tenant_may_reach, well_known_addresses
from .registry import PROVIDERS, adapter_for
from .spec import ProviderSpec

logger = logging.getLogger(__name__)

MAX_KEY_LENGTH = 4096
ACCOUNT_ID = re.compile(r"^[A-Za-z0-9_-]{1,100}$")  # it becomes part of a URL path
# Credential names prefix public model ids: these would collide with OpenProvider's own ids
# ("openprovider/auto-free", "auto").
RESERVED_NAMES = frozenset({"openprovider", "auto"})
STATE_BY_KIND = {
    "auth": ProviderCredential.State.AUTH_FAILED,
    "rate_limited": ProviderCredential.State.RATE_LIMITED,
    "unreadable": ProviderCredential.State.UNREADABLE,
}
# `unavailable` errors by HTTP status; without one (a provider slug no longer in the registry)
# the provider is gone for good.
STATE_BY_UNAVAILABLE_STATUS: dict[int | None, ProviderCredential.State] = {
    402: ProviderCredential.State.PAYMENT_REQUIRED
}
BASE_URL_MESSAGE = "Enter an http(s) URL. No user name, password, query or fragment."
NEVER_ALLOWED_MESSAGE = (
    "Link-local, cloud metadata, unspecified and multicast addresses are never allowed."
)
PRIVATE_ADDRESS_MESSAGE = (
    "This server may not connect to that private address. An operator can allow its network "
    "with OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS."
)


def validate_base_url(base_url: str) -> None:
    """A provider base URL: http(s), a host, no userinfo, no query or fragment.

    A host written as an address (in any spelling the resolver accepts) or as localhost must be
    one this server may reach (providers.netguard: public, or in
    OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS, never link-local or metadata). Names are not resolved
    here: every connection checks the address it resolves to then.
    """
    if len(base_url) > 500 or not base_url.isascii() or any(ord(c) <= 0x20 for c in base_url):
        raise ValidationError(BASE_URL_MESSAGE)
    try:
        parts = urlsplit(base_url)
        host = (parts.hostname or "").removesuffix(".")
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        raise ValidationError(BASE_URL_MESSAGE) from None
    if (
        parts.scheme not in ("http", "https")
        or not host
        or "@" in parts.netloc
        or "\\" in base_url
        or parts.query
        or parts.fragment
        or base_url.endswith(("?", "#"))
    ):
        raise ValidationError(BASE_URL_MESSAGE)
    _check_host_address(host)


def _check_host_address(host: str) -> None:
    """Refuse a host that names, without DNS, only addresses this server may not reach."""
    try:
        literal = parse_ip_literal(host)
    except ValueError:
        raise ValidationError(BASE_URL_MESSAGE) from None
    addresses = (literal,) if literal is not None else well_known_addresses(host)
    if any(is_never_allowed(address) for address in addresses):
        raise ValidationError(NEVER_ALLOWED_MESSAGE)
    if addresses and not any(tenant_may_reach(address) for address in addresses):
        raise ValidationError(PRIVATE_ADDRESS_MESSAGE)


def _spec(provider: str) -> ProviderSpec:
    spec = PROVIDERS.get(provider)
    if spec is None:
        raise ValidationError({"provider": f"Unknown provider “{provider[:40]}”."})
    if not spec.enabled:
        raise ValidationError(
            {
                "provider": f"{spec.name} is off: {spec.free_tier_note} An operator can "
                "re-enable it with OPENPROVIDER_REENABLED_PROVIDERS."
            }
        )
    return spec


def clean_key(spec: ProviderSpec, api_key: str, *, required: bool) -> str:
    """The stripped key; refuses a missing key (unless keyless) and multi-line junk."""
    api_key = api_key.strip()
    if not api_key and required and not spec.keyless:
        raise ValidationError({"api_key": f"{spec.name} needs an API key."})
    if len(api_key) > MAX_KEY_LENGTH or any(c.isspace() or not c.isprintable() for c in api_key):
        raise ValidationError({"api_key": "The key must be one line of printable characters."})
    return api_key


def credential_validate(
    *, provider: str, name: str, base_url: str, account_id: str
) -> tuple[ProviderSpec, str]:
    """Check the non-secret fields; returns (spec, the name to use)."""
    spec = _spec(provider)
    if provider == "custom" and not name:
        raise ValidationError({"name": "A custom provider needs a short name."})
    name = name or spec.slug
    try:
        validate_slug(name)
    except ValidationError:
        raise ValidationError({"name": "Use letters, digits, - and _ only."}) from None
    if len(name) > 40:
        raise ValidationError({"name": "Use at most 40 characters."})
    if name.lower() in RESERVED_NAMES:
        raise ValidationError(
            {"name": f"“{name}” is reserved for OpenProvider's own model ids; choose another name."}
        )
    if spec.needs_base_url and not base_url:
        raise ValidationError({"base_url": f"{spec.name} needs a base URL."})
    if base_url:
        try:
            validate_base_url(base_url)
        except ValidationError as error:
            raise ValidationError({"base_url": error.messages[0]}) from None
    if spec.needs_account_id and not ACCOUNT_ID.match(account_id):
        raise ValidationError({"account_id": f"{spec.name} needs your account id."})
    return spec, name


def key_hint(api_key: str) -> str:
    return api_key[-4:] if api_key else ""


@transaction.atomic
def credential_save(
    *,
    workspace: Workspace,
    provider: str,
    api_key: str,
    name: str = "",
    base_url: str = "",
    account_id: str = "",
    enabled: bool = True,
) -> ProviderCredential:
    """Create the workspace's credential called `name`, or replace it; the state resets."""
    spec, name = credential_validate(
        provider=provider, name=name.strip(), base_url=base_url.strip(), account_id=account_id
    )
    api_key = clean_key(spec, api_key, required=True)
    credential, _ = ProviderCredential.objects.update_or_create(
        workspace=workspace,
        name=name,
        defaults={
            "provider": spec.slug,
            "api_key": api_key,
            "key_hint": key_hint(api_key),
            "base_url": base_url.strip(),
            "account_id": account_id.strip() if spec.needs_account_id else "",
            "enabled": enabled,
            "state": ProviderCredential.State.UNKNOWN,
            "state_message": "",
            "checked_at": None,
            "check_latency_ms": None,
        },
    )
    logger.info("provider credential %s saved (%s)", credential.pk, spec.slug)
    return credential


def credential_replace_key(*, credential: ProviderCredential, api_key: str) -> ProviderCredential:
    """Put a new key on an existing credential (the admin's write-only "Replace key")."""
    spec = PROVIDERS.get(credential.provider)
    if spec is None:
        raise ValidationError({"provider": "Unknown provider."})
    api_key = clean_key(spec, api_key, required=True)
    credential.api_key, credential.key_hint = api_key, key_hint(api_key)
    credential.state, credential.state_message = ProviderCredential.State.UNKNOWN, ""
    credential.save(update_fields=["api_key", "key_hint", "state", "state_message", "updated_at"])
    logger.info("provider credential %s: key replaced", credential.pk)
    return credential


@transaction.atomic
def credential_edit(*, credential: ProviderCredential, api_key: str = "") -> ProviderCredential:
    """Store a credential whose fields were checked with credential_validate (the admin's add
    and change form); a non-empty key replaces the stored one."""
    credential.save()
    if api_key:
        credential_replace_key(credential=credential, api_key=api_key)
    logger.info("provider credential %s edited", credential.pk)
    return credential


def credential_delete(*, credential: ProviderCredential) -> None:
    """Delete the credential and, by cascade, the catalog models found through it."""
    pk = credential.pk
    credential.delete()
    logger.info("provider credential %s deleted", pk)


def credentials_delete(*, credentials: QuerySet[ProviderCredential]) -> int:
    """Delete many credentials (and their catalog models); returns how many credentials."""
    ids = list(credentials.values_list("pk", flat=True))
    ProviderCredential.objects.filter(pk__in=ids).delete()
    logger.info("provider credentials %s deleted", ids)
    return len(ids)


def credential_mark_auth_failed(*, credential_id: int) -> None:
    """A live request's 401/403: the key is wrong or revoked; routing skips it until checked."""
    ProviderCredential.objects.filter(pk=credential_id).exclude(
        state=ProviderCredential.State.AUTH_FAILED
    ).update(
        state=ProviderCredential.State.AUTH_FAILED,
        state_message="The provider rejected the key (401/403) on a live request.",
    )
    logger.warning("provider credential %s rejected by its provider", credential_id)


def state_for_error(error: ProviderError) -> ProviderCredential.State:
    """The credential state an upstream failure proves (down when it proves nothing more)."""
    if error.kind == "unavailable":
        return STATE_BY_UNAVAILABLE_STATUS.get(error.status, ProviderCredential.State.RETIRED)
    return STATE_BY_KIND.get(error.kind, ProviderCredential.State.DOWN)


def credential_check(*, credential: ProviderCredential) -> tuple[str, str, int | None]:
    """Probe cheaply through the adapter; store and return (state, message, latency_ms)."""
    started = time.monotonic()
    latency: int | None = None
    try:
        adapter = adapter_for(credential)  # decrypts: SecretUnreadable if it cannot
        try:
            adapter.check()
        finally:
            latency = int((time.monotonic() - started) * 1000)
        state, message = ProviderCredential.State.OK, ""
    except SecretUnreadable as error:
        state, message = ProviderCredential.State.UNREADABLE, error.message
    except ProviderError as error:
        state = state_for_error(error)
        message = sanitize(error.message, _readable_key(credential))
    credential.state, credential.state_message = state, message[:300]
    credential.checked_at, credential.check_latency_ms = timezone.now(), latency
    credential.save(update_fields=["state", "state_message", "checked_at", "check_latency_ms"])
    return state, credential.state_message, latency


def _readable_key(credential: ProviderCredential) -> str:
    try:
        return credential.api_key
    except SecretUnreadable:
        return ""


def credential_key_readable(credential: ProviderCredential) -> bool:
    """True when the stored key decrypts with the current (or a fallback) encryption key."""
    try:
        credential.api_key  # noqa: B018  # decrypts, or raises
    except SecretUnreadable:
        return False
    return True


@dataclass
class ReencryptResult:
    rewritten: int = 0
    current: int = 0
    failed: list[int] = field(default_factory=list)
    readable_again: list[int] = field(default_factory=list)  # were marked unreadable


def secrets_reencrypt() -> ReencryptResult:
    """Rewrite every stored key with the current keys; one transaction per row, so re-runs
    resume. Rows no key can decrypt are left untouched and reported by id."""
    result = ReencryptResult()
    for pk in ProviderCredential.objects.order_by("pk").values_list("pk", flat=True):
        outcome, readable_again = _reencrypt_row(pk)
        if outcome == "failed":
            result.failed.append(pk)
        elif outcome == "rewritten":
            result.rewritten += 1
        elif outcome == "current":
            result.current += 1
        if readable_again:
            result.readable_again.append(pk)
    return result


@transaction.atomic
def _reencrypt_row(pk: int) -> tuple[str, bool]:
    """(outcome, was the row marked unreadable and decrypts now?). Such a row goes back to
    `unknown` (not checked yet): its models are routed again, the next check confirms."""
    rows = ProviderCredential.objects.select_for_update().filter(pk=pk)
    # values_list yields from_db_value's ciphertext; the stubs assume the decrypting descriptor
    ciphertext: bytes | None = rows.values_list("api_key", flat=True).first()  # type: ignore[assignment]
    if ciphertext is None:
        return "gone", False
    try:
        plaintext, current = unseal(ciphertext)
    except SecretUnreadable:
        logger.error("provider credential %s: the stored key cannot be decrypted", pk)
        return "failed", False
    readable_again = bool(
        rows.filter(state=ProviderCredential.State.UNREADABLE).update(
            state=ProviderCredential.State.UNKNOWN, state_message=""
        )
    )
    if current:
        return "current", readable_again
    rows.update(api_key=plaintext)
    return "rewritten", readable_again
