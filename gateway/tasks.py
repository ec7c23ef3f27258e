from celery import shared_task

from gateway.media.images import generated_images_delete_expired
from gateway.requestlog.services import request_log_reap_stale
from gateway.responses.store import stored_responses_delete_expired


@shared_task
def request_log_reap_stale_task() -> int:
    """Beat: mark request-log rows stuck in_progress (a killed worker) as aborted."""
    return request_log_reap_stale()


@shared_task
def generated_images_cleanup_task() -> int:
    """Beat: delete generated images (files and rows) past their expiry."""
    return generated_images_delete_expired()


@shared_task
def stored_responses_expire_task() -> int:
    """Beat: delete stored responses older than RESPONSES_RETENTION_DAYS."""
    return stored_responses_delete_expired()
