"""Yield benchmark, family scenario: one model on every provider of the fleet, asked by family id.

`.venv/bin/python bench/yield_family.py` runs the fleet of bench/yield_bench.py (six simulated
free providers, their minute and day budgets and 429 styles), but each provider serves the same
model under its own id, as the real providers name Llama 3.3 70B (Groq's
`llama-3.3-70b-versatile`, OpenRouter's `meta-llama/llama-3.3-70b-instruct:free`, NVIDIA's
`meta/llama-3.3-70b-instruct`, Cloudflare's `@cf/meta/llama-3.3-70b-instruct-fp8-fast`), and the
load asks for the family id `llama-3.3-70b-instruct`, never for a provider's id. The families
come from the catalog's own table (providers.families), so a miss there shows as a 404 here.

Scenarios: family-2x and family-0.5x, open loop at 2x and 0.5x the family's summed per-minute
capacity; figures as for auto-free (yield against the same upper bound, waste, day lost), and
the same targets. See bench/README.md "Yield" and "Family scenario".
"""

import asyncio
import os
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from run import HIGH_LIMIT, Harness, machine  # noqa: E402
from yield_bench import (  # noqa: E402
    REAL_MINUTE,
    Figures,
    FleetServer,
    Outcome,
    migrate,
    parse_args,
    scaled_gateway_env,
    send_open_loop,
    warm_up,
)
from yield_fleet import FLEET, fleet_rpm, steady_arrivals, upper_bound  # noqa: E402

FAMILY = "llama-3.3-70b-instruct"
# Each fleet provider's id for the model, as the real provider of that style (the slug, for its
# decorations) names it.
FAMILY_ROUTES = {
    "groq-a": ("groq", "llama-3.3-70b-versatile"),
    "groq-b": ("groq", "llama-3.3-70b-versatile"),
    "or-small": ("openrouter", "meta-llama/llama-3.3-70b-instruct:free"),
    "or-big": ("openrouter", "meta-llama/llama-3.3-70b-instruct:free"),
    "bare-big": ("nvidia", "meta/llama-3.3-70b-instruct"),
    "bare-small": ("cloudflare", "@cf/meta/llama-3.3-70b-instruct-fp8-fast"),
}


def seed_family_workspace(fleet: FleetServer) -> str:
    """A fresh workspace where every fleet provider serves the family; its API key."""
    import secrets

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
    for name, (slug, upstream_id) in FAMILY_ROUTES.items():
        credential = ProviderCredential.objects.create(
            workspace=workspace, provider="custom", name=name, base_url=fleet.base_url(name)
        )
        CatalogModel.objects.create(
            workspace=workspace,
            credential=credential,
            provider="custom",
            public_id=f"{name}/{upstream_id}",
            upstream_id=upstream_id,
            name=upstream_id,
            family=family_of(upstream_id, provider=slug),
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


def run_family_load(
    harness: Harness,
    name: str,
    arrivals: list[float],
    *,
    minutes: int,
    minute_seconds: float,
    timeout: float,
) -> Figures:
    """As yield_bench.run_load, with the family seeded and asked for by its id."""
    fleet = FleetServer(name, minute_seconds)
    key = seed_family_workspace(fleet)

    async def go() -> list[Outcome]:
        await fleet.start()
        try:
            await warm_up(harness.port)
            epoch = time.monotonic() + 0.5
            fleet.start_clock(epoch)
            return await send_open_loop(harness.port, key, arrivals, epoch, timeout, FAMILY)
        finally:
            await fleet.stop()

    outcomes = asyncio.run(go())
    end = minutes * minute_seconds
    statuses: dict[int, int] = {}
    for outcome in outcomes:
        statuses[outcome.status] = statuses.get(outcome.status, 0) + 1
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
    )


def family_scenarios(minutes: float, minute_seconds: float) -> dict[str, list[float]]:
    per_second = fleet_rpm() / minute_seconds
    duration = minutes * minute_seconds
    return {
        "family-2x": steady_arrivals(2 * per_second, duration),
        "family-0.5x": steady_arrivals(0.5 * per_second, duration),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    only = {part.strip() for part in args.only.split(",") if part.strip()}
    timeout = args.client_timeout * args.minute_seconds / REAL_MINUTE
    harness = Harness(keep=args.keep)
    harness.start_mock = lambda: None  # the fleet runs in this process
    harness.setup_database = migrate
    extra = dict(item.split("=", 1) for item in args.env)
    harness.extra_env = {**scaled_gateway_env(args.minute_seconds), **extra}
    print(f"machine: {machine()}")
    print(
        f"family {FAMILY} on {len(FLEET)} providers, {fleet_rpm()} rpm in all; minute "
        f"{args.minute_seconds:g} s, {args.minutes} minutes a run, client timeout {timeout:g} s"
    )
    misses: list[str] = []
    try:
        harness.start()
        for name, arrivals in family_scenarios(args.minutes, args.minute_seconds).items():
            if only and name not in only:
                continue
            figures = run_family_load(
                harness,
                name,
                arrivals,
                minutes=args.minutes,
                minute_seconds=args.minute_seconds,
                timeout=timeout,
            )
            print(figures.line(), flush=True)
            misses += figures.misses()
    finally:
        harness.stop()
    print("targets: " + ("PASS" if not misses else "MISS " + "; ".join(misses)))
    return 1 if misses else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
