"""How long a 429 cools its route: a minute limit, a day limit, or a bare 429 of unknown kind.

- minute: until the provider's hint or the minute window's reset (a hint ≤ a minute away, a
  body naming a per-minute quota);
- day: until the provider's reset, else the next UTC midnight (a body naming a per-day quota,
  a day window with nothing left, a hint further than a minute away);
- unknown (a bare 429): briefly, doubling on repeats, never past the next minute boundary.
  Bare 429s that keep coming right after each cooldown mean the day budget is gone: the route
  is parked until UTC midnight, with a slow probe (GATEWAY_PARKED_PROBE_SECONDS) so a wrong
  guess heals, except on providers that charge a failed call to the day quota (no probe) —
  unless the route's day budget is known and our count says most of it is left: then the
  repeats are its minute window (one that does not start on the UTC minute) and it is never
  parked.

The repeat count lives in the shared cache (`route-bare429:{credential}:{upstream}`) and ends
with the route's next success or when no bare 429 follows within a minute of a cooldown.
"""

import math
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache

from providers.errors import ProviderError
from providers.ratelimits import DAY, MINUTE

Route = tuple[int, str]
MINUTE_SECONDS = 60.0
DAY_SECONDS = 86400.0
BARE_FIRST_SECONDS = 5.0
REPEAT_GRACE_SECONDS = 60  # a bare 429 within this long after a cooldown counts as a repeat


class Cooldown(NamedTuple):
    until: float  # unix time
    kind: str  # minute | day | unknown


def bare_key(route: Route) -> str:
    return f"route-bare429:{route[0]}:{route[1]}"


def next_boundary(now: float, seconds: float) -> float:
    return (math.floor(now / seconds) + 1) * seconds


def classify_429(error: ProviderError, now: float) -> str:
    """MINUTE, DAY or "unknown" from the body's words, the windows and the retry hint."""
    hints = error.hints
    if hints is not None and hints.scope:
        return hints.scope
    if hints is not None:
        for unit in ("requests", "tokens"):
            window = hints.window(unit, DAY)
            if window is not None and window.remaining == 0:
                return DAY
    if error.retry_after is not None:
        return DAY if error.retry_after > MINUTE_SECONDS else MINUTE
    return "unknown"


def rate_limit_cooldown(
    route: Route,
    error: ProviderError,
    now: float,
    *,
    charges_failures: bool = False,
    day_left: bool = False,
) -> Cooldown:
    """The cooldown a 429 earns its route (counts a bare 429 in the shared cache).
    `day_left`: the route's known day budget is far from spent by our count."""
    kind = classify_429(error, now)
    if kind == MINUTE:
        wait = error.retry_after
        return Cooldown(now + wait if wait else next_boundary(now, MINUTE_SECONDS), MINUTE)
    if kind == DAY:
        return Cooldown(now + error.retry_after if error.retry_after else _midnight(now), DAY)
    cooldown = _bare_cooldown(_count_bare(route), now, charges_failures, day_left)
    _keep_counting(route, cooldown.until - now)
    return cooldown


def _bare_cooldown(repeats: int, now: float, charges_failures: bool, day_left: bool) -> Cooldown:
    if repeats >= settings.GATEWAY_BARE_429_PARK_AFTER and not day_left:
        midnight = _midnight(now)
        if charges_failures:  # a probe would cost the day quota it is waiting for
            return Cooldown(midnight, DAY)
        return Cooldown(min(midnight, now + settings.GATEWAY_PARKED_PROBE_SECONDS), DAY)
    wait = BARE_FIRST_SECONDS * 2 ** max(repeats - 1, 0)
    return Cooldown(min(now + wait, next_boundary(now, MINUTE_SECONDS)), "unknown")


def _midnight(now: float) -> float:
    return next_boundary(now, DAY_SECONDS)


def _count_bare(route: Route) -> int:
    """This bare 429's place in a run of them (1 for the first); 1 when the cache is down."""
    key = bare_key(route)
    try:
        cache.add(key, 0, REPEAT_GRACE_SECONDS)
        return int(cache.incr(key))
    except Exception:  # the cache being down must not fail the request
        return 1


def _keep_counting(route: Route, cooldown_seconds: float) -> None:
    """The run goes on only if the next bare 429 comes soon after this cooldown ends."""
    try:
        cache.touch(bare_key(route), math.ceil(cooldown_seconds) + REPEAT_GRACE_SECONDS)
    except Exception:
        return
