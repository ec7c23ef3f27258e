"""Liveness of the parts OpenProvider needs: database, cache and broker."""

from typing import Any

from celery import current_app as celery_app  # the app config/celery.py made current
from django.core.cache import cache
from django.db import connection


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _cache() -> None:
    cache.set("healthz", "ok", 10)
    if cache.get("healthz") != "ok":
        raise RuntimeError("cache did not return what was stored")


def _broker() -> None:
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


CHECKS = {"database": _database, "cache": _cache, "broker": _broker}


def health_report() -> dict[str, Any]:
    parts: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            check()
            parts[name] = "ok"
        except Exception:  # any failure means the part is down; the reason is not exposed
            parts[name] = "down"
    down = [name for name, state in parts.items() if state != "ok"]
    return {"status": "ok" if not down else "down", "down": down, "parts": parts}
