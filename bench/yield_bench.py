"""Yield benchmark: how much of a free fleet's capacity `openprovider/auto-free` serves.

`.venv/bin/python bench/yield_bench.py` starts the production-shaped gateway of bench/run.py
(`Harness`: gunicorn, one gevent worker, a throw-away database, loopback only) and, in this
process, a fleet of six simulated free providers (bench/yield_fleet.py: per-minute and per-day
budgets, Groq-like / OpenRouter-like / bare 429s), each a `custom` credential on its own base path
of one loopback server. Every scenario gets a fresh workspace and fresh credentials, so no
cooldown or budget of one scenario leaks into the next.

Scenarios (open-loop: send times fixed in advance, independent of answers):
- steady-0.5x, steady-2x: evenly spaced at 0.5x and 2x the fleet's summed per-minute capacity;
- bursty-0.8x: 3x for 10 simulated seconds, silence between, 0.8x on average;
- edge-0.8x: 5x for 20 s every 125 s, so the fleet runs dry before some minutes end;
- family-0.5x, family-2x: every provider serves one model under its own real-provider id, and
  the load asks for its family id (`yield_fleet.FAMILY`) instead of auto-free;
- outage: one provider refuses connections for a few seconds, then is back; how long until the
  gateway serves through it again (real seconds, with the gateway's default settings).

Per load scenario it prints served / upper bound (yield; the bound is what any router could have
served of the same arrivals, see `yield_fleet.upper_bound`), upstream 429s / upstream calls
(waste) and the day budget charged for 429s on the OpenRouter-like providers.

Time: `--minute-seconds 60` uses real minutes. A shorter simulated minute (default 6) scales the
fleet's windows, the client timeout and the gateway's own time settings (route cooldown, breaker
window and open time, hold bound) by the same factor, passed to gunicorn, so both sides keep their
real-minute proportions. See bench/README.md "Yield".
"""

import argparse
import asyncio
import os
import secrets
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from load import Connection, Result, chat_request  # noqa: E402
from mock_upstream import _parse_head  # noqa: E402
from run import HIGH_LIMIT, HOST, Harness, free_port, machine  # noqa: E402
from yield_fleet import (  # noqa: E402
    FAMILY,
    FAMILY_ROUTES,
    FLEET,
    Answer,
    ProviderState,
    bursty_arrivals,
    fleet_rpm,
    steady_arrivals,
    upper_bound,
)

CHAT_PATH = "/v1/chat/completions"
AUTO_FREE = "openprovider/auto-free"
UPSTREAM_MODEL = "free-model"
REAL_MINUTE = 60.0
# The OpenAI SDKs retry a 429 twice, after its Retry-After when that is at most 60 s.
SDK_MAX_RETRIES, SDK_MAX_RETRY_AFTER = 2, 60.0
# Targets of issue 15.
YIELD_TARGET_PCT, WASTE_TARGET_PCT, OUTAGE_TARGET_SECONDS = 97.0, 0.5, 10.0
# Gateway settings measured in real seconds, and their defaults (config/settings.py): scaled
# with the simulated minute. GATEWAY_MAX_QUEUE_SECONDS is the hold bound of the quota work
# (issue 15); a gateway without it ignores it.
GATEWAY_SECONDS = {
    "GATEWAY_COOLDOWN_SECONDS": 60,
    "GATEWAY_BREAKER_WINDOW_SECONDS": 60,
    "GATEWAY_BREAKER_OPEN_SECONDS": 120,
    "GATEWAY_MAX_QUEUE_SECONDS": 5,
    "GATEWAY_BREAKER_TRIAL_SECONDS": 5,
    "GATEWAY_PARKED_PROBE_SECONDS": 300,
}


# ---- the fleet server ----------------------------------------------------------------------
class FleetServer:
    """One loopback server; `/<scenario>/<provider>/v1/chat/completions` is one provider."""

    def __init__(self, scenario: str, minute_seconds: float) -> None:
        self.scenario = scenario
        self.epoch = 0.0
        self.states = {
            p.name: ProviderState(p, epoch=0.0, minute_seconds=minute_seconds) for p in FLEET
        }
        self.down: set[str] = set()
        self.connections: dict[asyncio.Task, asyncio.StreamWriter] = {}
        self.server: asyncio.AbstractServer | None = None
        self.port = free_port()

    def start_clock(self, epoch: float) -> None:
        self.epoch = epoch
        for state in self.states.values():
            state.epoch = epoch

    async def start(self) -> None:
        self.server = await asyncio.start_server(self.handle, HOST, self.port, backlog=4096)

    async def stop(self) -> None:
        self.server.close()
        for writer in self.connections.values():
            writer.close()  # idle keep-alive connections: their handlers end on EOF
        if self.connections:
            await asyncio.wait(list(self.connections), timeout=5)
        await self.server.wait_closed()

    def base_url(self, provider: str) -> str:
        return f"http://{HOST}:{self.port}/{self.scenario}/{provider}/v1"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self.connections[task] = writer
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                _method, path, headers = _parse_head(head)
                length = int(headers.get("content-length") or 0)
                if length:
                    await reader.readexactly(length)
                parts = path.split("?", 1)[0].strip("/").split("/")
                name = parts[1] if len(parts) > 1 else ""
                if name in self.down:
                    return  # an outage: the connection drops without an answer
                state = self.states.get(name)
                if state is None:
                    answer = Answer(404, {}, b'{"error":{"message":"not found"}}')
                else:
                    answer = state.answer(time.monotonic(), UPSTREAM_MODEL)
                writer.write(http_answer(answer))
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return
        finally:
            self.connections.pop(task, None)
            writer.close()


def http_answer(answer: Answer) -> bytes:
    reason = {200: "OK", 404: "Not Found", 429: "Too Many Requests"}[answer.status]
    lines = [f"HTTP/1.1 {answer.status} {reason}", "Content-Type: application/json"]
    lines += [f"{name}: {value}" for name, value in answer.headers.items()]
    lines.append(f"Content-Length: {len(answer.body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + answer.body


# ---- the database ------------------------------------------------------------------------------
def seed_workspace(
    fleet: FleetServer,
    providers: list[str],
    *,
    known_limits: bool = True,
    upstream_ids: dict[str, tuple[str, str]] | None = None,
) -> str:
    """A fresh workspace with one free model per provider of the fleet; its API key. With
    `known_limits` each credential carries its provider's rpm/rpd, as the registry rows of real
    free tiers do (otherwise the router only learns them from answers). `upstream_ids` gives a
    provider's model its own id ({name: (the real provider slug it imitates, upstream id)}),
    its family computed by the catalog's table."""
    by_name = {p.name: p for p in FLEET}
    from django.db import connections
    from django.utils import timezone

    from accounts.models import ApiKey, User
    from accounts.services import api_key_create
    from catalog.models import CatalogModel
    from providers.families import family_of
    from providers.models import ProviderCredential

    user = User.objects.create_user(
        f"yield-{fleet.scenario}-{secrets.token_hex(4)}@example.com",
        password=secrets.token_hex(16),
    )
    workspace, now = user.workspace, timezone.now()
    for name in providers:
        slug, upstream_id = (upstream_ids or {}).get(name, ("custom", UPSTREAM_MODEL))
        credential = ProviderCredential.objects.create(
            workspace=workspace,
            provider="custom",
            name=name,
            base_url=fleet.base_url(name),
            state="ok",
            limits={"rpm": by_name[name].rpm, "rpd": by_name[name].rpd} if known_limits else {},
        )
        CatalogModel.objects.create(
            workspace=workspace,
            credential=credential,
            provider="custom",
            public_id=f"{name}/{upstream_id}",
            upstream_id=upstream_id,
            name=upstream_id,
            family=family_of(upstream_id, provider=slug) if upstream_ids else "",
            category="text",
            context_length=131072,
            max_output_tokens=8192,
            capabilities={"tools": True, "streaming": True},
            free_evidence="self-hosted",
            last_seen=now,
            updated_at=now,
        )
    created = api_key_create(workspace=workspace, name="yield")
    ApiKey.objects.filter(pk=created.api_key.pk).update(rpm_limit=HIGH_LIMIT, rpd_limit=HIGH_LIMIT)
    connections.close_all()
    return created.plaintext


# ---- load ----------------------------------------------------------------------------------
@dataclass
class Outcome:
    sent_at: float
    status: int = 0
    finished_at: float = 0.0
    error: str = ""
    retries: int = 0

    @property
    def served(self) -> bool:
        return self.status == 200


async def send_open_loop(
    port: int,
    key: str,
    arrivals: list[float],
    epoch: float,
    timeout: float,
    model: str = AUTO_FREE,
) -> list[Outcome]:
    """Each arrival on its own connection at epoch + t; one that takes over `timeout` is lost.

    Like the OpenAI SDKs (`max_retries` 2), a 429 is retried after its `Retry-After` when that
    is at most 60 s and the retry fits in the client's patience (the gateway's seconds are real
    ones, whatever the simulated minute)."""
    raw = chat_request(HOST, port, CHAT_PATH, model, key=key, max_tokens=16)

    async def one(t: float) -> Outcome:
        await asyncio.sleep(max(0.0, epoch + t - time.monotonic()))
        outcome = Outcome(sent_at=time.monotonic() - epoch)
        deadline = time.monotonic() + timeout
        for attempt in range(SDK_MAX_RETRIES + 1):
            result = await send_once(port, raw, deadline)
            outcome.status, outcome.error = result.status, result.error
            wait = retry_wait(result)
            if attempt == SDK_MAX_RETRIES or wait is None or time.monotonic() + wait >= deadline:
                break
            outcome.retries += 1
            await asyncio.sleep(wait)
        outcome.finished_at = time.monotonic() - epoch
        return outcome

    return await asyncio.gather(*(one(t) for t in arrivals))


async def send_once(port: int, raw: bytes, deadline: float) -> Result:
    connection = Connection(HOST, port)
    try:
        return await asyncio.wait_for(connection.send(raw), max(deadline - time.monotonic(), 0))
    except TimeoutError:
        return Result(error="client timeout")
    finally:
        connection.close()


def retry_wait(result: Result) -> float | None:
    """Seconds an OpenAI SDK waits before retrying this answer, None when it does not retry."""
    if result.status != 429:
        return None
    try:
        seconds = float(result.headers.get("retry-after", ""))
    except ValueError:
        return None
    return seconds if 0 <= seconds <= SDK_MAX_RETRY_AFTER else None


# ---- scenarios --------------------------------------------------------------------------------
@dataclass
class Figures:
    scenario: str
    arrivals: int
    bound: int
    served: int
    calls: int
    limited: int
    day_lost: int
    statuses: dict[int, int] = field(default_factory=dict)
    retries: int = 0

    @property
    def yield_pct(self) -> float:
        return 100.0 * self.served / self.bound if self.bound else 100.0

    @property
    def waste_pct(self) -> float:
        return 100.0 * self.limited / self.calls if self.calls else 0.0

    def misses(self) -> list[str]:
        """The issue's targets this run missed."""
        wanted = 100.0 if self.scenario.startswith("steady-0.5x") else YIELD_TARGET_PCT
        found = []
        if self.yield_pct < wanted:
            found.append(f"{self.scenario}: yield {self.yield_pct:.1f} % (target >= {wanted} %)")
        if self.waste_pct > WASTE_TARGET_PCT:
            found.append(f"{self.scenario}: waste {self.waste_pct:.2f} % (target <= 0.5 %)")
        if self.day_lost:
            found.append(f"{self.scenario}: {self.day_lost} day quota lost (target 0)")
        return found

    def line(self) -> str:
        return (
            f"{self.scenario:<12} arrivals {self.arrivals:>5}  bound {self.bound:>5}  "
            f"served {self.served:>5}  yield {self.yield_pct:6.1f} %  "
            f"429s {self.limited:>4}/{self.calls:<5} waste {self.waste_pct:5.2f} %  "
            f"day lost {self.day_lost:>3}  client statuses {self.statuses} "
            f"(after {self.retries} SDK-style retries)"
        )


def load_scenarios(minutes: float, minute_seconds: float) -> dict[str, list[float]]:
    per_second = fleet_rpm() / minute_seconds
    duration = minutes * minute_seconds
    sim_second = minute_seconds / REAL_MINUTE
    mean = 0.8 * per_second
    return {
        "steady-0.5x": steady_arrivals(0.5 * per_second, duration),
        "steady-2x": steady_arrivals(2 * per_second, duration),
        # 3x for 10 s every 30 s: never more than a minute's capacity in a minute
        "bursty-0.8x": bursty_arrivals(mean, duration, burst_seconds=10 * sim_second),
        # 5x for 20 s every 125 s (1.67 minutes of capacity in 20 s), the first at 0:40, so the
        # fleet runs dry near the end of some minutes: holding a few seconds serves the rest
        "edge-0.8x": bursty_arrivals(
            mean,
            duration,
            burst_factor=5 / 0.8,
            burst_seconds=20 * sim_second,
            first_at=40 * sim_second,
        ),
        # one model on every provider under its own id, asked for by its family id
        "family-0.5x": steady_arrivals(0.5 * per_second, duration),
        "family-2x": steady_arrivals(2 * per_second, duration),
    }


def run_load(
    harness: Harness,
    name: str,
    arrivals: list[float],
    *,
    minutes: int,
    minute_seconds: float,
    timeout: float,
    known_limits: bool = True,
    fleet_offset: float = 0.0,
    model: str = AUTO_FREE,
    upstream_ids: dict[str, tuple[str, str]] | None = None,
) -> Figures:
    """One open-loop run; an answer counts as served if it is a 200 within the client timeout
    and before the run's end (the upper bound has no capacity after it either)."""
    fleet = FleetServer(name, minute_seconds)
    key = seed_workspace(
        fleet, [p.name for p in FLEET], known_limits=known_limits, upstream_ids=upstream_ids
    )

    async def go() -> list[Outcome]:
        await fleet.start()
        try:
            await warm_up(harness.port)
            epoch = aligned_epoch(minute_seconds) + fleet_offset
            fleet.start_clock(epoch)
            return await send_open_loop(harness.port, key, arrivals, epoch, timeout, model)
        finally:
            await fleet.stop()

    outcomes = asyncio.run(go())
    end = minutes * minute_seconds
    statuses: dict[int, int] = {}
    for o in outcomes:
        statuses[o.status] = statuses.get(o.status, 0) + 1
    states = fleet.states.values()
    return Figures(
        scenario=name,
        arrivals=len(arrivals),
        bound=upper_bound(
            arrivals, minute_seconds=minute_seconds, timeout=timeout, windows=minutes
        ),
        served=sum(o.served and o.finished_at <= end for o in outcomes),
        calls=sum(s.calls for s in states),
        limited=sum(s.limited for s in states),
        day_lost=sum(s.day_lost for s in states),
        statuses=dict(sorted(statuses.items())),
        retries=sum(o.retries for o in outcomes),
    )


def family_load(scenario: str) -> dict:
    """run_load's arguments for a family scenario: the family's ids, asked for by family id."""
    if not scenario.startswith("family-"):
        return {}
    return {"model": FAMILY, "upstream_ids": FAMILY_ROUTES}


def aligned_epoch(minute_seconds: float) -> float:
    """The monotonic time of the next wall-clock window start (at least 0.5 s away): the fleet's
    minute windows then fall on UTC minutes with `--minute-seconds 60`, as fixed-window limiters
    keyed by the calendar minute do (a provider that says its resets is followed either way)."""
    wall, mono = time.time(), time.monotonic()
    start = (int((wall + 0.5) // minute_seconds) + 1) * minute_seconds
    return mono + (start - wall)


async def warm_up(port: int) -> None:
    """One unauthenticated request, so the worker has loaded everything before the clock runs."""
    connection = Connection(HOST, port)
    await connection.send(chat_request(HOST, port, CHAT_PATH, AUTO_FREE, key="opk_live_x"))
    connection.close()


def run_outage(
    harness: Harness, down_seconds: float, deadline: float
) -> tuple[float | None, dict[int, int]]:
    """Seconds from the upstream's return to the first request served through the gateway, and
    the statuses clients got between the return and then."""
    fleet = FleetServer("outage", REAL_MINUTE)
    key = seed_workspace(fleet, ["groq-a"])
    raw = chat_request(HOST, harness.port, CHAT_PATH, AUTO_FREE, key=key, max_tokens=16)

    async def ask() -> int:
        connection = Connection(HOST, harness.port)
        try:
            return (await asyncio.wait_for(connection.send(raw), 10)).status
        except TimeoutError:
            return 0
        finally:
            connection.close()

    refused: dict[int, int] = {}

    async def go() -> float | None:
        await fleet.start()
        try:
            fleet.start_clock(time.monotonic())
            for _ in range(3):
                await ask()  # healthy traffic first
            fleet.down.add("groq-a")
            down_until = time.monotonic() + down_seconds
            while time.monotonic() < down_until:
                await ask()
                await asyncio.sleep(0.2)
            fleet.down.clear()
            back = time.monotonic()
            while time.monotonic() - back < deadline:
                status = await ask()
                if status == 200:
                    return time.monotonic() - back
                refused[status] = refused.get(status, 0) + 1
                await asyncio.sleep(0.2)
            return None
        finally:
            await fleet.stop()

    return asyncio.run(go()), refused


# ---- main ------------------------------------------------------------------------------------
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="OpenProvider yield benchmark (issue 15)")
    parser.add_argument("--minute-seconds", type=float, default=6.0, help="a simulated minute")
    parser.add_argument("--minutes", type=int, default=5, help="simulated minutes per run")
    parser.add_argument(
        "--client-timeout", type=float, default=10.0, help="client patience, simulated seconds"
    )
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--outage-seconds", type=float, default=5.0)
    parser.add_argument("--outage-deadline", type=float, default=180.0, help="real seconds")
    parser.add_argument(
        "--blind", action="store_true", help="fleet credentials without known rpm/rpd limits"
    )
    parser.add_argument(
        "--fleet-offset",
        type=float,
        default=0.0,
        help="simulated seconds the fleet's minute windows start after the wall-clock minute",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temp dir and gunicorn log")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE")
    return parser.parse_args(argv)


def scaled_gateway_env(minute_seconds: float) -> dict[str, str]:
    factor = minute_seconds / REAL_MINUTE
    return {name: f"{value * factor:g}" for name, value in GATEWAY_SECONDS.items()}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    scale = args.minute_seconds / REAL_MINUTE
    timeout = args.client_timeout * scale
    scenarios = load_scenarios(args.minutes, args.minute_seconds)
    harness = Harness(keep=args.keep)
    harness.start_mock = lambda: None  # the fleet runs in this process
    harness.setup_database = migrate
    extra = dict(item.split("=", 1) for item in args.env)
    harness.extra_env = {**scaled_gateway_env(args.minute_seconds), **extra}
    print(f"machine: {machine()}")
    print(
        f"minute {args.minute_seconds:g} s, {args.minutes:g} minutes a run, client timeout "
        f"{timeout:g} s, fleet {fleet_rpm()} rpm; gateway env {harness.extra_env}"
    )
    misses: list[str] = []
    try:
        harness.start()
        for name, arrivals in scenarios.items():
            if only and name not in only:
                continue
            figures = run_load(
                harness,
                name,
                arrivals,
                minutes=args.minutes,
                minute_seconds=args.minute_seconds,
                timeout=timeout,
                known_limits=not args.blind,
                fleet_offset=args.fleet_offset * scale,
                **family_load(name),
            )
            print(figures.line(), flush=True)
            misses += figures.misses()
        if not only or "outage" in only:
            harness.extra_env = extra  # real seconds: the gateway's defaults
            harness.restart_gateway()
            misses += report_outage(harness, args.outage_seconds, args.outage_deadline)
    finally:
        harness.stop()
    print("targets: " + ("PASS" if not misses else "MISS " + "; ".join(misses)))
    return 1 if misses else 0


def report_outage(harness: Harness, down_seconds: float, deadline: float) -> list[str]:
    back, refused = run_outage(harness, down_seconds, deadline)
    shown = f"{back:.1f} s" if back is not None else f"not within {deadline:g} s"
    print(
        f"outage       upstream down {down_seconds:g} s; served again after {shown}; "
        f"meanwhile clients got {dict(sorted(refused.items()))}"
    )
    if back is None or back > OUTAGE_TARGET_SECONDS:
        return [f"outage: served again after {shown} (target <= {OUTAGE_TARGET_SECONDS} s)"]
    return []


def migrate() -> None:
    import warnings

    import django

    warnings.filterwarnings("ignore", message="No directory at")
    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("migrate", verbosity=0, interactive=False)
    connections.close_all()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
