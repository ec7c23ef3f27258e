import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**_: object) -> None:
    """Workers and beat log through settings.LOGGING (JSON, request/task ids, secrets redacted)
    instead of Celery's own handlers, which would bypass the redaction filter."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)
