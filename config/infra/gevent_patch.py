"""Whether this process runs monkey-patched by gevent (gunicorn's gevent worker)."""

import sys


def gevent_patched() -> bool:
    """True in a gevent worker (threading monkey-patched); gevent need not be installed."""
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")
