"""The test suite's settings: production's, except that without REDIS_URL (a fresh machine's
`make test`) the cache is per process and Celery's broker is the filesystem one, so no server is
needed. Tests of behaviour across processes run a real Redis (tests/scaleout/).
"""

import os

from config.settings import *  # noqa: F403
from config.settings import broker_transport_options, broker_with_host, env

if not os.environ.get("REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "KEY_PREFIX": CACHE_KEY_PREFIX,  # noqa: F405
        }
    }
    CELERY_BROKER_URL = broker_with_host(env("CELERY_BROKER_URL", default="filesystem://"))
    CELERY_BROKER_TRANSPORT_OPTIONS = broker_transport_options(CELERY_BROKER_URL)

# Nothing waits for a cooling route unless a test asks to (tests/gateway/test_hold.py sets the
# bound and replaces the sleep), so an all-cooling request is refused at once, as before.
GATEWAY_MAX_QUEUE_SECONDS = 0.0
