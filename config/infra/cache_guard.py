"""Shared-cache calls that must not fail a request when the cache is down."""

import logging
from collections.abc import Callable
from typing import TypeVar

logger = logging.getLogger(__name__)

T = TypeVar("T")


def cache_or_default(call: Callable[[], T], default: T, what: str) -> T:
    """`call()`, or `default` (logged as `what` unavailable) when the cache raises."""
    try:
        return call()
    except Exception:  # the cache being down must not fail the request
        logger.warning("%s unavailable (cache error)", what)
        return default
