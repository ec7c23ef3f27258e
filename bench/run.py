"""Gateway benchmark: one gunicorn gevent worker against a local mock upstream, on loopback.

`make bench` runs `.venv/bin/python bench/run.py`. It starts bench/mock_upstream.py, builds a
throw-away database (a SQLite file in a temp dir, or DATABASE_URL when set) with a workspace,
an opk_live_ key with very high limits, a `custom` credential pointing at the mock and catalog
rows, starts gunicorn (config/gunicorn.py, WEB_CONCURRENCY=1) pinned to CPU 0 while the load
generator and the mock share CPU 1 (when there are two), then measures each scenario via the
gateway and directly against the mock, and prints PASS/MISS per target.

Options: --quick (small counts, a smoke run), --only 1,3 (scenarios), --faults (also run
bench/load_faults.py), --keep (keep the temp dir and the gunicorn log).
"""

import argparse
import asyncio
import ctypes
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(BENCH))

import psutil  # noqa: E402
from load import (  # noqa: E402
    Connection,
    Result,
    blocking_sequential,
    build_request,
    chat_request,
    closed_loop,
    open_streams,
    percentile,
)
from mock_upstream import raise_fd_limit  # noqa: E402

HOST = "127.0.0.1"
CHAT_PATH = "/v1/chat/completions"
MOCK_CHAT_PATH = "/v1/chat/completions"
HIGH_LIMIT = 1_000_000_000
LISTING_MODELS = 10_000
LISTING_CREDENTIALS = 10
MIB = 1024 * 1024
PR_SET_PDEATHSIG = 1

# Upstream ids tell the mock what to do (see bench/mock_upstream.py).
PLAIN_MODEL = "bench"
STREAM_MODEL = "bench-c20-d50"
SLOW_MODEL = "bench-c30-d1000"
STREAM_CHUNKS, SLOW_CHUNKS = 20, 30


@dataclass
class Sizes:
    latency_requests: int = 2000
    throughput_requests: int = 10_000
    streams: int = 1000
    listing_requests: int = 200
    slow_streams: int = 3000
    slow_model: str = SLOW_MODEL
    slow_chunks: int = SLOW_CHUNKS
    fault_streams: int = 1000
    attack_victims: int = 400

    @classmethod
    def quick(cls) -> "Sizes":
        return cls(300, 2000, 200, 40, 300, "bench-c10-d500", 10, 200, 150)


@dataclass
class Check:
    scenario: int
    name: str
    measured: str
    target: str
    passed: bool


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    def add(self, scenario: int, name: str, measured: str, target: str, passed: bool) -> None:
        self.checks.append(Check(scenario, name, measured, target, passed))

    def print(self) -> None:
        print("\n=== targets ===")
        for c in self.checks:
            verdict = "PASS" if c.passed else "MISS"
            print(f"{c.scenario}  {c.name:<44} {c.measured:>22}   target {c.target:<18} {verdict}")


def cpu_plan() -> tuple[list[str], list[str], set[int] | None]:
    """taskset prefixes for the gateway and the mock, and this process's CPU set."""
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) >= 2 and shutil.which("taskset"):
        return (
            ["taskset", "-c", str(cpus[0])],
            ["taskset", "-c", str(cpus[1])],
            {cpus[1]},
        )
    return [], [], None


def die_with_parent() -> None:
    """In a child before exec: SIGTERM it when this process dies (Linux prctl PDEATHSIG)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass  # not Linux: the children then outlive a killed benchmark


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((HOST, port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {HOST}:{port}")


class RssSampler(threading.Thread):
    """Samples a process's RSS (and open fds) every `interval` seconds; keeps the peaks."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.interval = interval
        self.peak_rss = 0
        self.peak_fds = 0
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)
                self.peak_fds = max(self.peak_fds, self.process.num_fds())
            except psutil.Error:
                return
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


class Harness:
    """The mock, the throw-away database and the gunicorn gateway, started and stopped."""

    def __init__(self, *, keep: bool = False, app: str = "config.wsgi:application") -> None:
        self.keep = keep
        self.app = app
        self.tmp = Path(tempfile.mkdtemp(prefix="openprovider-bench-"))
        self.gateway_cpu, self.mock_cpu, self.load_cpus = cpu_plan()
        self.mock: subprocess.Popen | None = None
        self.store: subprocess.Popen | None = None
        self.gunicorn: subprocess.Popen | None = None
        self.mock_port = 0
        self.port = free_port()
        self.key = ""
        self.listing_key = ""
        self.workspace_id = 0
        self.log_path = self.tmp / "gunicorn.log"
        self.extra_env: dict[str, str] = {}

    # ---- setup ---------------------------------------------------------------------------
    def start(self) -> None:
        raise_fd_limit()
        self.configure_env()
        self.start_store()
        self.start_mock()
        self.setup_database()
        if self.load_cpus:
            os.sched_setaffinity(0, self.load_cpus)
        self.start_gateway()

    def configure_env(self) -> None:
        """Production-like Django settings for this process and the gunicorn child."""
        if not os.environ.get("DATABASE_URL"):
            os.environ["DATABASE_URL"] = f"sqlite:///{self.tmp}/bench.sqlite3"
        os.environ.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DEBUG="false",
            SECRET_KEY=secrets.token_urlsafe(48),
            OPENPROVIDER_ENCRYPTION_KEY=secrets.token_urlsafe(48),
            SECURE_SSL_REDIRECT="false",
            SESSION_COOKIE_SECURE="false",
            CSRF_COOKIE_SECURE="false",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            OPENPROVIDER_CUSTOM_PROVIDER_NETWORKS="127.0.0.0/8",  # the mock is a custom provider
            CELERY_BROKER_URL=os.environ.get("CELERY_BROKER_URL", "memory://"),
            # Thousands of streams on one key from one address: bounds far above them, so the
            # in-flight counting still runs (and costs what it costs) but never refuses.
            API_KEY_MAX_CONCURRENT_REQUESTS="1000000",
            CLIENT_MAX_CONCURRENT_REQUESTS="1000000",
            CLIENT_MAX_PENDING_BODIES="1000000",
        )

    def start_store(self) -> None:
        """Without REDIS_URL: the Redis `make run` starts (config/embedded_redis.py), in tmp."""
        if os.environ.get("REDIS_URL"):
            return
        os.environ["VAR_DIR"] = str(self.tmp)
        self.store = subprocess.Popen(
            [sys.executable, "-m", "config.embedded_redis"],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        deadline = time.monotonic() + 30
        while not (self.tmp / "redis.sock").exists():
            if time.monotonic() > deadline:
                raise RuntimeError("the embedded Redis did not start")
            time.sleep(0.05)

    def start_mock(self) -> None:
        command = [
            *self.mock_cpu,
            sys.executable,
            str(BENCH / "mock_upstream.py"),
            "--port",
            "0",
            "--parent-pid",
            str(os.getpid()),
        ]
        self.mock = subprocess.Popen(
            command, stdout=subprocess.PIPE, text=True, preexec_fn=die_with_parent
        )
        line = self.mock.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"the mock did not start: {line!r}")
        self.mock_port = int(line.split()[1])

    def setup_database(self) -> None:
        import warnings

        import django

        warnings.filterwarnings("ignore", message="No directory at")
        django.setup()
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0, interactive=False)
        self.key, self.listing_key, self.workspace_id = seed(self.mock_port)
        connections.close_all()

    def start_gateway(self) -> None:
        env = {
            **os.environ,
            "PORT": str(self.port),
            "HOST": HOST,
            "WEB_CONCURRENCY": "1",
            **self.extra_env,
        }
        gunicorn = str(Path(sys.executable).with_name("gunicorn"))
        command = [
            *self.gateway_cpu,
            gunicorn,
            self.app,
            "-c",
            str(ROOT / "config" / "gunicorn.py"),
            "--no-control-socket",  # a dev server may already own the default control socket
        ]
        log = self.log_path.open("a")
        self.gunicorn = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=log, preexec_fn=die_with_parent
        )
        wait_for_port(self.port)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = asyncio.run(self.probe())
            if status:
                return
            time.sleep(0.2)
        raise RuntimeError(f"the gateway did not answer; see {self.log_path}")

    async def probe(self) -> int:
        connection = Connection(HOST, self.port)
        result = await connection.send(build_request("GET", HOST, self.port, "/v1/models"))
        connection.close()
        return result.status

    def restart_gateway(self) -> None:
        """A fresh worker, so a memory figure does not inherit an earlier scenario's heap."""
        self.stop_gateway()
        self.start_gateway()

    def worker_pid(self) -> int:
        children = psutil.Process(self.gunicorn.pid).children()
        if len(children) != 1:
            raise RuntimeError(f"expected one gunicorn worker, found {len(children)}")
        return children[0].pid

    def stop_gateway(self) -> None:
        if self.gunicorn and self.gunicorn.poll() is None:
            self.gunicorn.terminate()
            try:
                self.gunicorn.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.gunicorn.kill()
                self.gunicorn.wait()
        self.gunicorn = None

    def stop(self) -> None:
        try:
            self.stop_gateway()
        finally:
            for child in (self.mock, self.store):
                if child and child.poll() is None:
                    child.terminate()
                    child.wait(timeout=10)
        if self.keep:
            print(f"kept {self.tmp} (gunicorn log: {self.log_path})")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def log_count(self, text: str) -> int:
        try:
            return self.log_path.read_text(errors="replace").count(text)
        except OSError:
            return 0

    # ---- requests ------------------------------------------------------------------------
    def gateway_chat(self, model: str, *, stream: bool = False, **extra) -> bytes:
        return chat_request(
            HOST, self.port, CHAT_PATH, f"mock/{model}", key=self.key, stream=stream, **extra
        )

    def direct_chat(self, model: str, *, stream: bool = False) -> bytes:
        return chat_request(HOST, self.mock_port, MOCK_CHAT_PATH, model, stream=stream)


def seed(mock_port: int) -> tuple[str, str, int]:
    """The bench workspace (chat) and a listing workspace with 10,000 models; keys, bench id."""
    from django.utils import timezone

    from accounts.models import ApiKey, User
    from accounts.services import api_key_create
    from catalog.models import CatalogModel
    from providers.models import ProviderCredential

    suffix = secrets.token_hex(4)
    now = timezone.now()

    def key_for(user: User) -> str:
        created = api_key_create(workspace=user.workspace, name="bench")
        ApiKey.objects.filter(pk=created.api_key.pk).update(
            rpm_limit=HIGH_LIMIT, rpd_limit=HIGH_LIMIT
        )
        return created.plaintext

    def models(workspace, credential, ids: list[str], category=None) -> list[CatalogModel]:
        return [
            CatalogModel(
                workspace=workspace,
                credential=credential,
                provider="custom",
                public_id=f"{credential.name}/{upstream_id}",
                upstream_id=upstream_id,
                name=upstream_id,
                category=category(i) if category else "text",
                context_length=131072,
                max_output_tokens=8192,
                capabilities={"tools": True, "streaming": True},
                free_evidence="self-hosted",
                last_seen=now,
                updated_at=now,
            )
            for i, upstream_id in enumerate(ids)
        ]

    base_url = f"http://{HOST}:{mock_port}/v1"
    user = User.objects.create_user(f"bench-{suffix}@example.com", password=secrets.token_hex(16))
    workspace = user.workspace
    for name, ids in {
        "mock": [PLAIN_MODEL, STREAM_MODEL, SLOW_MODEL, "bench-c10-d500"],
        "flaky": ["flaky-c20-d50-f10"],
        "steady": ["steady-c20-d50"],
    }.items():
        credential = ProviderCredential.objects.create(
            workspace=workspace, provider="custom", name=name, base_url=base_url, state="ok"
        )
        CatalogModel.objects.bulk_create(models(workspace, credential, ids))

    lister = User.objects.create_user(
        f"bench-listing-{suffix}@example.com", password=secrets.token_hex(16)
    )
    per_credential = LISTING_MODELS // LISTING_CREDENTIALS
    for c in range(LISTING_CREDENTIALS):
        credential = ProviderCredential.objects.create(
            workspace=lister.workspace, provider="custom", name=f"lab{c}", base_url=base_url
        )
        ids = [f"org/model-{i:05d}" for i in range(per_credential)]
        rows = models(
            lister.workspace, credential, ids, lambda i: CatalogModel.Category.values[i % 4]
        )
        CatalogModel.objects.bulk_create(rows, batch_size=1000)
    return key_for(user), key_for(lister), workspace.pk


# ---- scenarios --------------------------------------------------------------------------------
def ms(value: float) -> str:
    return f"{value * 1000:.2f} ms"


def oks(results: list[Result]) -> list[Result]:
    return [r for r in results if r.ok]


def failures(results: list[Result]) -> str:
    bad = [r.error or f"HTTP {r.status}" for r in results if not r.ok]
    if not bad:
        return ""
    first = sorted(set(bad))[:3]
    return f" ({len(bad)} failed: {'; '.join(first)})"


def sequential(h: Harness, port: int, make, count: int) -> list[Result]:
    results, _ = asyncio.run(closed_loop(HOST, port, lambda i: make(), concurrency=1, total=count))
    return results


def scenario_latency(h: Harness, sizes: Sizes, report: Report) -> None:
    print("\n[1] non-streaming, concurrency 1: added latency")
    gateway_req = h.gateway_chat(PLAIN_MODEL)
    direct_req = h.direct_chat(PLAIN_MODEL)
    sequential(h, h.port, lambda: gateway_req, 200)  # warm-up
    sequential(h, h.mock_port, lambda: direct_req, 200)
    direct = sequential(h, h.mock_port, lambda: direct_req, sizes.latency_requests)
    gateway = sequential(h, h.port, lambda: gateway_req, sizes.latency_requests)
    d = [r.latency for r in oks(direct)]
    g = [r.latency for r in oks(gateway)]
    print(f"  direct   p50 {ms(percentile(d, 50))}  p99 {ms(percentile(d, 99))}{failures(direct)}")
    print(f"  gateway  p50 {ms(percentile(g, 50))}  p99 {ms(percentile(g, 99))}{failures(gateway)}")
    added50 = percentile(g, 50) - percentile(d, 50)
    added99 = percentile(g, 99) - percentile(d, 99)
    print(f"  added    p50 {ms(added50)}  p99 {ms(added99)}")
    clean = len(oks(gateway)) == len(gateway)
    report.add(1, "added latency p50", ms(added50), "<= 2 ms", clean and added50 <= 0.002)
    report.add(1, "added latency p99", ms(added99), "<= 5 ms", clean and added99 <= 0.005)


def scenario_throughput(h: Harness, sizes: Sizes, report: Report) -> None:
    print("\n[2] non-streaming, concurrency 16: requests/s of one worker process")
    gateway_req = h.gateway_chat(PLAIN_MODEL)
    direct_req = h.direct_chat(PLAIN_MODEL)
    rates = {}
    for label, port, raw in (("direct", h.mock_port, direct_req), ("gateway", h.port, gateway_req)):

        def make(_: int, raw: bytes = raw) -> bytes:
            return raw

        asyncio.run(closed_loop(HOST, port, make, concurrency=16, total=500))  # warm-up
        results, wall = asyncio.run(
            closed_loop(HOST, port, make, concurrency=16, total=sizes.throughput_requests)
        )
        lat = [r.latency for r in oks(results)]
        rates[label] = len(oks(results)) / wall
        print(
            f"  {label:<8} {rates[label]:7.0f} req/s  p50 {ms(percentile(lat, 50))}  "
            f"p99 {ms(percentile(lat, 99))}{failures(results)}"
        )
    report.add(
        2,
        "requests/s, one worker, c=16",
        f"{rates['gateway']:.0f} req/s",
        ">= 800",
        rates["gateway"] >= 800,
    )


def scenario_streams(h: Harness, sizes: Sizes, report: Report) -> None:
    n = sizes.streams
    print(f"\n[3] {n} concurrent streams ({STREAM_CHUNKS} chunks, 50 ms apart)")
    h.restart_gateway()
    warm = h.gateway_chat(STREAM_MODEL, stream=True)
    asyncio.run(open_streams(HOST, h.port, lambda i: warm, count=20))
    direct_req = h.direct_chat(STREAM_MODEL, stream=True)
    direct = asyncio.run(open_streams(HOST, h.mock_port, lambda i: direct_req, count=n))
    sampler = RssSampler(h.worker_pid())
    baseline = sampler.process.memory_info().rss
    sampler.start()
    gateway = asyncio.run(open_streams(HOST, h.port, lambda i: warm, count=n))
    sampler.stop()
    stats = {}
    for label, results in (("direct", direct), ("gateway", gateway)):
        complete = [r for r in results if r.ok and r.events >= STREAM_CHUNKS and r.done]
        ttft = [r.ttft for r in complete if r.ttft is not None]
        total = [r.latency for r in complete]
        stats[label] = (len(complete), percentile(ttft, 50), percentile(total, 50))
        print(
            f"  {label:<8} complete {len(complete)}/{n}  TTFT p50 {ms(percentile(ttft, 50))} "
            f"p99 {ms(percentile(ttft, 99))}  total p50 {ms(percentile(total, 50))} "
            f"p99 {ms(percentile(total, 99))}{failures(results)}"
        )
    print(
        f"  gateway worker RSS: {baseline / MIB:.0f} MiB before, peak {sampler.peak_rss / MIB:.0f} "
        f"MiB; peak open fds {sampler.peak_fds}"
    )
    done, ttft50, total50 = stats["gateway"]
    _, d_ttft50, d_total50 = stats["direct"]
    report.add(3, "streams completed", f"{done}/{n}", f"{n}/{n}", done == n)
    report.add(
        3,
        "stream total p50 vs direct",
        f"{total50 / d_total50:.2f}x",
        "<= 1.5x direct",
        total50 <= 1.5 * d_total50,
    )
    report.add(
        3,
        "TTFT p50 (gateway - direct)",
        ms(ttft50 - d_ttft50),
        "<= 50 ms",
        ttft50 <= d_ttft50 + 0.050,
    )
    peak = sampler.peak_rss / 1e6
    report.add(3, "peak RSS of the worker", f"{peak:.0f} MB", "<= 200 MB", peak <= 200)


def scenario_listing(h: Harness, sizes: Sizes, report: Report) -> None:
    print(f"\n[4] GET /v1/models with {LISTING_MODELS:,} models, concurrency 1 (blocking client)")
    raw = build_request(
        "GET", HOST, h.port, "/v1/models", headers={"Authorization": f"Bearer {h.listing_key}"}
    )
    results = blocking_sequential(HOST, h.port, raw, 1 + sizes.listing_requests)
    first, rest = results[0], results[1:]
    lat = [r.latency for r in oks(rest)]
    size = len(rest[-1].body) / 1e6 if rest and rest[-1].ok else 0
    print(
        f"  first (cold render) {ms(first.latency)}; then p50 {ms(percentile(lat, 50))} "
        f"p99 {ms(percentile(lat, 99))}  body {size:.1f} MB{failures(results)}"
    )
    p50 = percentile(lat, 50)
    report.add(
        4,
        "/v1/models p50 at 10,000 models",
        ms(p50),
        "<= 20 ms",
        len(lat) == len(rest) and p50 <= 0.020,
    )


def scenario_slow_streams(h: Harness, sizes: Sizes, report: Report) -> None:
    n, chunks = sizes.slow_streams, sizes.slow_chunks
    print(f"\n[5] {n} concurrent slow streams ({sizes.slow_model}: {chunks} chunks) on one worker")
    h.restart_gateway()
    raw = h.gateway_chat(sizes.slow_model, stream=True)
    warm = h.gateway_chat(STREAM_MODEL, stream=True)
    asyncio.run(open_streams(HOST, h.port, lambda i: warm, count=20))
    time.sleep(0.5)
    sampler = RssSampler(h.worker_pid(), interval=0.2)
    baseline = sampler.process.memory_info().rss
    sampler.start()
    results = asyncio.run(
        open_streams(HOST, h.port, lambda i: raw, count=n, ramp_seconds=3.0, timeout=180)
    )
    sampler.stop()
    complete = [r for r in results if r.ok and r.events >= chunks and r.done]
    total = [r.latency for r in complete]
    held = sum(1 for r in results if r.status == 200)  # refused ones held no stream
    per_stream = (sampler.peak_rss - baseline) / max(held, 1) / 1024
    print(
        f"  every chunk received: {len(complete)}/{n}  total p50 {ms(percentile(total, 50))} "
        f"p99 {ms(percentile(total, 99))}{failures(results)}"
    )
    print(
        f"  worker RSS {baseline / MIB:.0f} MiB before, peak {sampler.peak_rss / MIB:.0f} MiB "
        f"-> {per_stream:.1f} KiB per held stream ({held}); peak open fds {sampler.peak_fds}"
    )
    report.add(
        5, "slow streams with every chunk", f"{len(complete)}/{n}", f"{n}/{n}", len(complete) == n
    )
    report.add(
        5, "memory per held stream", f"{per_stream:.1f} KiB", "<= 100 KiB", per_stream <= 100
    )


SCENARIOS = {
    1: scenario_latency,
    2: scenario_throughput,
    3: scenario_streams,
    4: scenario_listing,
    5: scenario_slow_streams,
}


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    load = os.getloadavg()[0]
    return f"nproc {os.cpu_count()}, {model}, {memory:.1f} GiB RAM, load avg {load:.2f}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="OpenProvider gateway benchmark")
    parser.add_argument("--quick", action="store_true", help="small counts (a smoke run)")
    parser.add_argument("--only", default="", help="comma-separated scenario numbers, e.g. 1,3")
    parser.add_argument("--faults", action="store_true", help="also run bench/load_faults.py")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and gunicorn log")
    parser.add_argument(
        "--app",
        default="config.wsgi:application",
        help="the WSGI app to serve (experiments: a patched variant on PYTHONPATH)",
    )
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an extra environment variable for gunicorn (repeatable), e.g. "
        "GATEWAY_KEEPALIVE_SECONDS=0 or GUNICORN_WORKER_CLASS=gevent_pywsgi",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = Sizes.quick() if args.quick else Sizes()
    only = {int(part) for part in args.only.split(",") if part.strip()}
    chosen = [number for number in SCENARIOS if not only or number in only]
    harness = Harness(keep=args.keep, app=args.app)
    harness.extra_env = dict(item.split("=", 1) for item in args.env)
    report = Report()
    print(f"machine: {machine()}")
    if harness.extra_env or args.app != "config.wsgi:application":
        print(f"variant: app {args.app}, env {harness.extra_env}")
    try:
        harness.start()
        print(
            f"gateway: gunicorn gevent, 1 worker {' '.join(harness.gateway_cpu) or '(unpinned)'}; "
            f"mock + load {' '.join(harness.mock_cpu) or '(unpinned)'}; "
            f"DB {os.environ['DATABASE_URL'].split(':', 1)[0]}"
        )
        for number in chosen:
            SCENARIOS[number](harness, sizes, report)
        if args.faults:
            from load_faults import run_faults, run_tenant_attacks

            run_faults(harness, sizes.fault_streams, report)
            run_tenant_attacks(harness, sizes.attack_victims, report)
        pool_full = harness.log_count("Connection pool is full")
        print(f"\ngunicorn log: {pool_full} 'Connection pool is full' warnings from urllib3")
    finally:
        harness.stop()
    report.print()
    return 0 if all(c.passed for c in report.checks) else 1


if __name__ == "__main__":
    sys.exit(main())
