"""Reads for the accounts app."""

from django.db.models import QuerySet

from .models import ApiKey, User, Workspace


def api_key_list(*, workspace: Workspace) -> QuerySet[ApiKey]:
    """The workspace's API keys, newest first, revoked ones included."""
    return ApiKey.objects.filter(workspace=workspace).order_by("-created_at", "-id")


def user_by_email(*, email: str) -> User | None:
    """The user who signs in with this email (emails are stored lower-cased)."""
    return User.objects.filter(email=email.strip().lower()).first()
