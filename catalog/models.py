from django.db import models

from accounts.models import Workspace
from providers.models import ProviderCredential


class CatalogModel(models.Model):
    """A free model a workspace can call, discovered through one of its credentials.

    `category`, `capabilities`, `context_length` and `max_output_tokens` hold the EFFECTIVE
    values (what routing and /v1/models filter and show): the provider's listed values, stored
    in `listed` by every sync, with the operator's `overrides` on top (catalog.overrides). A
    capability is true, false, or null (unknown: the provider does not say). `hidden` models
    stay in the catalog but are neither listed nor routable. `family` names the same model across
    providers (providers.families; "" for none), effective like the fields above: routing and
    /v1/models treat a family id as a model id served by every route in it.
    """

    class Category(models.TextChoices):
        TEXT = "text"
        VISION = "vision"
        IMAGE = "image"
        SPEECH = "speech"
        EMBEDDING = "embedding"
        TRANSCRIPTION = "transcription"

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="catalog_models"
    )
    credential = models.ForeignKey(
        ProviderCredential, on_delete=models.CASCADE, related_name="catalog_models"
    )
    provider = models.CharField(max_length=32)
    public_id = models.CharField(max_length=300)
    upstream_id = models.CharField(max_length=250)
    name = models.CharField(max_length=200, blank=True)
    family = models.CharField(max_length=120, blank=True)
    description = models.TextField(blank=True)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.TEXT)
    context_length = models.PositiveIntegerField(null=True, blank=True)
    max_output_tokens = models.PositiveIntegerField(null=True, blank=True)
    capabilities = models.JSONField(default=dict, blank=True)
    voices = models.JSONField(default=list, blank=True)
    free_evidence = models.CharField(max_length=300, blank=True)
    listed = models.JSONField(default=dict, blank=True)
    overrides = models.JSONField(default=dict, blank=True)
    hidden = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["public_id"]
        constraints = [
            models.UniqueConstraint(fields=["workspace", "public_id"], name="unique_public_id"),
            models.UniqueConstraint(
                fields=["credential", "upstream_id"], name="unique_upstream_per_credential"
            ),
        ]
        indexes = [
            models.Index(fields=["workspace", "is_active", "category"]),
            models.Index(fields=["workspace", "family"], name="catalog_model_family"),
        ]

    def __str__(self) -> str:
        return self.public_id


class SyncRun(models.Model):
    """One catalog sync: when, and per provider what was added, removed, changed or failed."""

    class Status(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        PARTIAL = "partial"
        FAILED = "failed"
        NEEDS_REVIEW = "needs_review"  # a credential's change was held (see HeldCatalogChange)

    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="sync_runs"
    )
    trigger = models.CharField(max_length=32, default="beat")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    results = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"sync {self.pk} ({self.status})"


class HeldCatalogChange(models.Model):
    """A sync outcome held for review: it would deactivate more than half of a credential's
    active free models. Applied when the next sync reaches the same outcome (`fingerprint`) or
    an operator accepts it; `rows` is the listing that was held, applied as it was reviewed."""

    credential = models.OneToOneField(
        ProviderCredential, on_delete=models.CASCADE, related_name="held_catalog_change"
    )
    sync_run = models.ForeignKey(SyncRun, null=True, blank=True, on_delete=models.SET_NULL)
    fingerprint = models.CharField(max_length=64)
    active_before = models.PositiveIntegerField()
    would_add = models.PositiveIntegerField()
    would_remove = models.PositiveIntegerField()
    rows = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"held change of {self.credential.name}: -{self.would_remove} +{self.would_add}"
