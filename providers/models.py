from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from accounts.models import Workspace

from .encryption import EncryptedSecretField

# Requests and tokens a minute / a day.
LIMIT_NAMES = ("rpm", "rpd", "tpm", "tpd")


def validate_limits(value: Any) -> None:
    """{"rpm": n, "rpd": n, "tpm": n, "tpd": n}: requests and tokens a minute / a day, each a
    whole number above 0; any may be left out."""
    if not isinstance(value, dict):
        raise ValidationError('Enter an object such as {"rpm": 20, "rpd": 50}.')
    for name, number in value.items():
        if name not in LIMIT_NAMES:
            raise ValidationError(f"Unknown limit {name!r}: use rpm, rpd, tpm or tpd.")
        if isinstance(number, bool) or not isinstance(number, int) or number <= 0:
            raise ValidationError(f"{name} must be a whole number above 0.")


class ProviderCredential(models.Model):
    """A workspace's key for one provider (custom ones by name); the key is encrypted at rest."""

    class State(models.TextChoices):
        UNKNOWN = "unknown"
        OK = "ok"
        AUTH_FAILED = "auth_failed"  # 401 / 403: the key is wrong, revoked or lacks access
        PAYMENT_REQUIRED = "payment_required"  # 402: the account must pay (free tier used up)
        RETIRED = "retired"  # 410: the provider or its API is gone
        RATE_LIMITED = "rate_limited"
        DOWN = "down"
        UNREADABLE = "unreadable"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="provider_credentials"
    )
    provider = models.CharField(max_length=32)
    name = models.SlugField(
        max_length=40,
        help_text="Short name; model ids start with it (the provider slug by default).",
    )
    # Decrypted lazily on read; a row that cannot be decrypted raises SecretUnreadable there.
    api_key = EncryptedSecretField(blank=True, default="")
    key_hint = models.CharField(max_length=8, blank=True, editable=False)
    base_url = models.URLField(max_length=500, blank=True)
    account_id = models.CharField(max_length=100, blank=True)
    enabled = models.BooleanField(default=True)
    # The operator's free-tier limits for this key, over the registry row's documented ones.
    limits = models.JSONField(
        default=dict,
        blank=True,
        validators=[validate_limits],
        help_text='Calls allowed, e.g. {"rpm": 20, "rpd": 50}; empty keeps the documented ones.',
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    state = models.CharField(max_length=16, choices=State.choices, default=State.UNKNOWN)
    state_message = models.CharField(max_length=300, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_latency_ms = models.PositiveIntegerField(null=True, blank=True)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_sync_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["provider", "name"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "name"], name="unique_credential_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.provider})"

    @property
    def masked_key(self) -> str:
        return f"••••{self.key_hint}" if self.key_hint else ""
