from django.db import models

from accounts.models import Workspace
from providers.models import ProviderCredential


class CatalogModel(models.Model):
    """A free model a workspace can call, discovered through one of its credentials."""

    class Category(models.TextChoices):
        TEXT = "text"
        VISION = "vision"
        IMAGE = "image"
        SPEECH = "speech"

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
    description = models.TextField(blank=True)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.TEXT)
    context_length = models.PositiveIntegerField(null=True, blank=True)
    max_output_tokens = models.PositiveIntegerField(null=True, blank=True)
    capabilities = models.JSONField(default=dict, blank=True)
    voices = models.JSONField(default=list, blank=True)
    free_evidence = models.CharField(max_length=300, blank=True)
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
        indexes = [models.Index(fields=["workspace", "is_active", "category"])]

    def __str__(self) -> str:
        return self.public_id


class SyncRun(models.Model):
    """One catalog sync: when, and per provider what was added, removed, changed or failed."""

    class Status(models.TextChoices):
        RUNNING = "running"
        OK = "ok"
        PARTIAL = "partial"
        FAILED = "failed"

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
