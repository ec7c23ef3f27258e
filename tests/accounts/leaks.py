"""Find a secret anywhere in the database, as stored."""

from django.apps import apps
from django.contrib.sessions.models import Session
from django.db import connection


def _as_text(value: object) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", errors="ignore")
    return str(value)


def _columns_containing(model: type, needle: str) -> list[str]:
    table = connection.ops.quote_name(model._meta.db_table)
    hits = []
    for field in model._meta.concrete_fields:
        column = connection.ops.quote_name(field.column)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {column} FROM {table}")  # noqa: S608  (names from the ORM)
            if any(needle in _as_text(value) for (value,) in cursor.fetchall()):
                hits.append(f"{model._meta.label}.{field.name}")
    return hits


def stored_places_containing(needle: str) -> list[str]:
    """Every `app.Model.field` whose raw stored value contains `needle`, sessions decoded."""
    hits: list[str] = []
    for model in apps.get_models(include_auto_created=True):
        if model._meta.managed and not model._meta.proxy:
            hits += _columns_containing(model, needle)
    for session in Session.objects.all():
        if needle in str(session.get_decoded()):
            hits.append(f"session {session.pk}")
    return hits
