"""The simulated free fleet of the yield benchmark, its arrivals and the upper bound (stdlib only).

Pure logic, no server and no Django, so a unit test can drive it with a fake clock:
- `Provider` / `ProviderState.answer`: one free provider with a per-minute and a per-day request
  budget, answering in one of three 429 styles (see `STYLES`);
- `steady_arrivals` / `bursty_arrivals`: open-loop schedules (send times, independent of answers);
- `upper_bound`: the most requests ANY router could have served of those arrivals.

Time is in simulated minutes of `minute_seconds` real seconds. Every provider's minute window is
fixed and starts at the scenario's epoch (all aligned), and the simulated day never ends during a
run (a run lasts minutes), so a day budget spent stays spent.
"""

import json
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Groq-like: x-ratelimit-*-requests (the day budget) and x-ratelimit-*-tokens (the minute budget,
# `TOKENS_PER_CALL` a call) on every answer, retry-after and "try again in" on a 429.
# OpenRouter-like: X-RateLimit-Limit/-Remaining/-Reset (epoch ms) on 429s only, and a 429 is
# charged to the day budget like a served call. Bare: a 429 with no hint at all.
STYLES = ("groq", "openrouter", "bare")
TOKENS_PER_CALL = 100
SIM_DAY_MINUTES = 1440


@dataclass(frozen=True)
class Provider:
    name: str
    style: str
    rpm: int
    rpd: int

    @property
    def charges_failures(self) -> bool:
        return self.style == "openrouter"


# Six free tiers shaped like the issue's: sum 125 requests a simulated minute. Three day budgets
# (or-small, bare-small, and bare-big later on) run out within a 2x run, so day limits matter.
FLEET = (
    Provider("groq-a", "groq", rpm=30, rpd=1000),
    Provider("groq-b", "groq", rpm=30, rpd=1000),
    Provider("or-small", "openrouter", rpm=20, rpd=50),
    Provider("or-big", "openrouter", rpm=20, rpd=1000),
    Provider("bare-big", "bare", rpm=10, rpd=200),
    Provider("bare-small", "bare", rpm=15, rpd=40),
)


# The family scenario: every provider serves one model, Llama 3.3 70B, under the id the real
# provider of its style uses; the load asks for the family id only.
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


def fleet_rpm(fleet: tuple[Provider, ...] = FLEET) -> int:
    return sum(p.rpm for p in fleet)


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass
class ProviderState:
    """What one provider has admitted since the scenario's epoch, and what it answered."""

    provider: Provider
    epoch: float
    minute_seconds: float
    window: int = 0
    minute_used: int = 0
    day_used: int = 0
    calls: int = 0
    served: int = 0
    limited: int = 0
    day_lost: int = 0  # day budget charged for 429s (OpenRouter-like only)
    wall_clock: Callable[[], float] = time.time  # `now` is monotonic; epoch headers need this

    def answer(self, now: float, model: str) -> Answer:
        p = self.provider
        window = int((now - self.epoch) // self.minute_seconds)
        if window != self.window:
            self.window, self.minute_used = window, 0
        self.calls += 1
        day_spent = self.day_used >= p.rpd
        if not day_spent and self.minute_used < p.rpm:
            self.minute_used += 1
            self.day_used += 1
            self.served += 1
            return Answer(200, self._headers(now, ok=True), completion_body(model))
        self.limited += 1
        if p.charges_failures and not day_spent:
            self.day_used += 1
            self.day_lost += 1
        return self._limited(now, day=day_spent)

    # ---- answers by style ----------------------------------------------------------------
    def minute_reset(self, now: float) -> float:
        return self.epoch + (self.window + 1) * self.minute_seconds

    def day_reset(self) -> float:
        return self.epoch + SIM_DAY_MINUTES * self.minute_seconds

    def _headers(self, now: float, *, ok: bool) -> dict[str, str]:
        if self.provider.style != "groq":
            return {}
        p = self.provider
        return {
            "x-ratelimit-limit-requests": str(p.rpd),
            "x-ratelimit-remaining-requests": str(max(0, p.rpd - self.day_used)),
            "x-ratelimit-reset-requests": go_duration(self.day_reset() - now),
            "x-ratelimit-limit-tokens": str(p.rpm * TOKENS_PER_CALL),
            "x-ratelimit-remaining-tokens": str(
                max(0, (p.rpm - self.minute_used) * TOKENS_PER_CALL)
            ),
            "x-ratelimit-reset-tokens": go_duration(self.minute_reset(now) - now),
        }

    def _limited(self, now: float, *, day: bool) -> Answer:
        p = self.provider
        reset = self.day_reset() if day else self.minute_reset(now)
        wait = max(0.0, reset - now)
        if p.style == "groq":
            headers = {**self._headers(now, ok=False), "retry-after": str(math.ceil(wait))}
            kind = "requests per day (RPD)" if day else "tokens per minute (TPM)"
            message = f"Rate limit reached on {kind}. Please try again in {wait:.3f}s."
            return Answer(429, headers, error_body(message, "rate_limit_exceeded"))
        if p.style == "openrouter":
            headers = {
                "X-RateLimit-Limit": str(p.rpd if day else p.rpm),
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(int((self.wall_clock() + wait) * 1000)),
            }
            which = "free-models-per-day" if day else "free-models-per-min"
            return Answer(429, headers, error_body(f"Rate limit exceeded: {which}. ", 429))
        return Answer(429, {}, error_body("Too Many Requests", None))


def go_duration(seconds: float) -> str:
    """Groq's reset format: `2m59.56s`, `7.66s`, `1h2m3s`."""
    seconds = max(0.0, seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{int(hours)}h" if hours else ""
    text += f"{int(minutes)}m" if hours or minutes else ""
    return text + f"{secs:.2f}s"


def completion_body(model: str) -> bytes:
    return json.dumps(
        {
            "id": "chatcmpl-yield",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "ok"},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 50, "completion_tokens": 50, "total_tokens": 100},
        }
    ).encode()


def error_body(message: str, code: object) -> bytes:
    return json.dumps(
        {"error": {"message": message, "type": "rate_limit_error", "code": code}}
    ).encode()


# ---- arrivals ------------------------------------------------------------------------------
def steady_arrivals(rate_per_second: float, duration: float) -> list[float]:
    """Evenly spaced send times (seconds from the epoch) at this rate."""
    count = int(rate_per_second * duration)
    return [(i + 0.5) / rate_per_second for i in range(count)]


def bursty_arrivals(
    mean_rate: float,
    duration: float,
    *,
    burst_factor: float = 3.0,
    burst_seconds: float = 10.0,
    first_at: float = 0.0,
) -> list[float]:
    """Bursts at `burst_factor` x `mean_rate` for `burst_seconds`, silence between, so the
    average is `mean_rate` (e.g. 3x for 10 s every 30 s), the first starting at `first_at`."""
    period = burst_seconds * burst_factor
    times: list[float] = []
    start = first_at
    while start < duration:
        burst = steady_arrivals(mean_rate * burst_factor, min(burst_seconds, duration - start))
        times += [start + t for t in burst]
        start += period
    return times


# ---- the upper bound ---------------------------------------------------------------------
@dataclass
class _Graph:
    capacity: dict[tuple[str, str], int] = field(default_factory=dict)
    edges: dict[str, list[str]] = field(default_factory=dict)

    def add(self, a: str, b: str, cap: int) -> None:
        if (a, b) not in self.capacity:
            self.edges.setdefault(a, []).append(b)
            self.edges.setdefault(b, []).append(a)
            self.capacity.setdefault((b, a), 0)
        self.capacity[(a, b)] = self.capacity.get((a, b), 0) + cap

    def max_flow(self, source: str, sink: str) -> int:
        """Edmonds-Karp; the graph has a few dozen nodes."""
        total = 0
        while True:
            parent = {source: source}
            queue = deque([source])
            while queue and sink not in parent:
                node = queue.popleft()
                for nxt in self.edges.get(node, []):
                    if nxt not in parent and self.capacity[(node, nxt)] > 0:
                        parent[nxt] = node
                        queue.append(nxt)
            if sink not in parent:
                return total
            path, node = [], sink
            while node != source:
                path.append((parent[node], node))
                node = parent[node]
            push = min(self.capacity[edge] for edge in path)
            for a, b in path:
                self.capacity[(a, b)] -= push
                self.capacity[(b, a)] += push
            total += push


def upper_bound(
    arrivals: list[float],
    *,
    minute_seconds: float,
    timeout: float,
    windows: int,
    fleet: tuple[Provider, ...] = FLEET,
) -> int:
    """The most of `arrivals` any router could serve: a request sent at t counts if some provider
    has room in a minute window meeting [t, t + timeout], within its minute and day budgets.

    Exact for this fleet, as a max flow: requests (grouped by the windows they can reach) ->
    minute windows -> provider (capacity rpm per window) -> sink (capacity rpd). Windows
    are fixed and aligned, so inside a window only counts matter: any flow is a schedule that
    serves each request at max(t, window start). It knows every arrival in advance and never
    wastes a call, so no online router can beat it. The run ends after `windows` minutes: later
    capacity does not count (nor do answers after the end, see yield_bench.py), else the last
    arrivals would get a whole idle minute that a continuing load would have used."""
    groups: dict[tuple[int, int], int] = {}
    for t in arrivals:
        first = int(t // minute_seconds)
        last = min(int((t + timeout) // minute_seconds), windows - 1)
        if first > last:
            continue
        groups[(first, last)] = groups.get((first, last), 0) + 1
    graph = _Graph()
    windows = {w for first, last in groups for w in range(first, last + 1)}
    for (first, last), count in groups.items():
        group = f"g{first}-{last}"
        graph.add("source", group, count)
        for w in range(first, last + 1):
            graph.add(group, f"w{w}", count)
    for w in windows:
        for p in fleet:
            graph.add(f"w{w}", f"p/{p.name}", p.rpm)
    for p in fleet:
        graph.add(f"p/{p.name}", "sink", p.rpd)
    return graph.max_flow("source", "sink")
