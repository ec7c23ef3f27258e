from django.db import models
from django.utils import timezone

from accounts.models import ApiKey, Workspace


class RequestLog(models.Model):
    """One row per request to a workflow, written at the start and finalized at the end.

    Prompts and completions are never stored here.
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress"
        SUCCESS = "success"
        ERROR = "error"
        PARTIAL = "partial"
        CLIENT_DISCONNECTED = "client_disconnected"
        ABORTED = "aborted"

    id = models.CharField(primary_key=True, max_length=64)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="request_logs")
    api_key = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="request_logs"
    )
    source = models.CharField(max_length=8, default="api")  # api | web
    endpoint = models.CharField(max_length=64)
    requested_model = models.CharField(max_length=300, blank=True)
    served_model = models.CharField(max_length=300, blank=True)
    provider = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.IN_PROGRESS)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.CharField(max_length=64, blank=True)
    attempts = models.JSONField(default=list, blank=True)
    streamed = models.BooleanField(default=False)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    ttft_ms = models.PositiveIntegerField(null=True, blank=True)
    prompt_tokens = models.PositiveIntegerField(null=True, blank=True)
    completion_tokens = models.PositiveIntegerField(null=True, blank=True)
    total_tokens = models.PositiveIntegerField(null=True, blank=True)
    # The upstream reported no usage: the gateway counted the tokens (gateway.requestlog.tokens).
    # A database default too, so a process still on the previous release can insert rows.
    usage_estimated = models.BooleanField(default=False, db_default=False)
    # Set when the request starts, not when the batched INSERT runs (gateway.requestlog.writer).
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["workspace", "created_at"])]

    def __str__(self) -> str:
        return self.id


class GeneratedImage(models.Model):
    """A generated image kept for a while and served at /v1/files/images/<name> by its name.

    The name is unguessable (like OpenAI's temporary URLs); the file and row go at expires_at.
    """

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="generated_images"
    )
    name = models.CharField(max_length=64, unique=True)
    path = models.CharField(max_length=255)
    content_type = models.CharField(max_length=32)
    size = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return self.name


class StoredResponse(models.Model):
    """A /v1/responses answer kept with its input (`store` not false) for the retention period,
    so `previous_response_id` can continue it and GET /v1/responses/{id} can read it."""

    id = models.CharField(primary_key=True, max_length=64)
    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="stored_responses"
    )
    request_id = models.CharField(max_length=64)  # its request-log row
    # The conversation continues from here; a deleted or expired predecessor ends the chain.
    previous = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    input_items = models.JSONField(default=list)
    body = models.JSONField()  # the Response object as answered
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["workspace", "created_at"])]

    def __str__(self) -> str:
        return self.id
