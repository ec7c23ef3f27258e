"""KeepAliveReader under gevent's monkey-patching (as in the gunicorn gevent worker)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
from gevent import monkey
monkey.patch_all()
import os, sys, threading, time
sys.path.insert(0, {root!r})
os.environ.update(DJANGO_SETTINGS_MODULE="tests.settings", REDIS_URL="")
import django
django.setup()
import gevent
from gateway.chat.streaming import KeepAliveReader

closed = []

class Slow:
    def __init__(self):
        self.items = iter([1, 2, 3])
    def __iter__(self):
        return self
    def __next__(self):
        time.sleep(0.05)
        return next(self.items)
    def close(self):
        closed.append(True)

threads_before = threading.active_count()
reader = KeepAliveReader(Slow(), 0.02)
out = list(reader)
assert [x for x in out if x is not None] == [1, 2, 3], out
assert None in out, out  # keep-alives while the source was silent
assert isinstance(reader._thread, gevent.Greenlet), type(reader._thread)
assert threading.active_count() == threads_before
assert closed == [True]

endless = KeepAliveReader(iter(lambda: time.sleep(0.01) or 1, None), 5)
stream = iter(endless)
assert next(stream) == 1
stream.close()
endless.close()
gevent.sleep(0.1)
assert endless._thread.dead
print("ok")
"""


def test_the_reader_is_a_greenlet_with_keepalives_and_stops_on_close():
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT.format(root=str(ROOT))],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "ok"
