"""The yield benchmark's simulated fleet and upper bound (bench/yield_fleet.py), on a fake clock.

The benchmark itself is a command (bench/yield_bench.py); this only keeps its measuring stick
honest: the providers answer in their documented 429 styles, and the bound is the true optimum.
"""

import json

from bench.yield_fleet import (
    FLEET,
    Provider,
    ProviderState,
    bursty_arrivals,
    go_duration,
    steady_arrivals,
    upper_bound,
)

MINUTE = 6.0


WALL = 1_800_000_000.0


def spend(provider: Provider, calls: int, *, at: float = 0.0) -> tuple[ProviderState, list]:
    state = ProviderState(provider, epoch=0.0, minute_seconds=MINUTE, wall_clock=lambda: WALL)
    return state, [state.answer(at, "m") for _ in range(calls)]


def test_groq_style_reports_budgets_on_every_answer_and_hints_on_429():
    state, answers = spend(Provider("g", "groq", rpm=2, rpd=100), 3, at=1.5)
    ok, limited = answers[0], answers[2]
    assert ok.status == 200
    assert ok.headers["x-ratelimit-remaining-requests"] == "99"
    assert ok.headers["x-ratelimit-remaining-tokens"] == "100"
    assert ok.headers["x-ratelimit-reset-tokens"] == "4.50s"
    assert limited.status == 429
    assert limited.headers["retry-after"] == "5"
    assert "try again in 4.500s" in json.loads(limited.body)["error"]["message"]
    assert (state.served, state.limited, state.day_lost) == (2, 1, 0)


def test_openrouter_style_429_carries_reset_epoch_ms_and_charges_the_day():
    state, answers = spend(Provider("o", "openrouter", rpm=1, rpd=3), 3, at=1.0)
    assert answers[0].headers == {}
    assert answers[1].status == 429
    # epoch milliseconds of the minute's end (5 s after the call), on the wall clock
    assert answers[1].headers["X-RateLimit-Reset"] == str(int((WALL + 5.0) * 1000))
    assert "free-models-per-min" in json.loads(answers[1].body)["error"]["message"]
    assert state.day_used == 3
    assert state.day_lost == 2
    # the day budget is gone, charged by the failures: the next minute refuses as a day limit
    day = state.answer(MINUTE + 1, "m")
    assert day.status == 429
    assert "free-models-per-day" in json.loads(day.body)["error"]["message"]
    assert state.day_lost == 2


def test_bare_style_429_has_no_hint_and_the_minute_renews():
    state, answers = spend(Provider("b", "bare", rpm=1, rpd=10), 2)
    assert answers[1].status == 429
    assert answers[1].headers == {}
    assert state.answer(MINUTE, "m").status == 200


def test_go_duration_formats_like_groq():
    assert go_duration(179.56) == "2m59.56s"
    assert go_duration(7.66) == "7.66s"
    assert go_duration(3723) == "1h2m3.00s"


def test_bound_below_capacity_is_every_arrival():
    rpm = sum(p.rpm for p in FLEET)
    arrivals = steady_arrivals(0.5 * rpm / MINUTE, 3 * MINUTE)
    assert upper_bound(arrivals, minute_seconds=MINUTE, timeout=1.0, windows=3) == len(arrivals)


def test_bound_under_overload_is_the_minute_budgets_capped_by_the_day_budgets():
    fleet = (Provider("a", "groq", rpm=10, rpd=1000), Provider("b", "bare", rpm=10, rpd=15))
    arrivals = steady_arrivals(40 / MINUTE, 3 * MINUTE)  # 2x
    bound = upper_bound(arrivals, minute_seconds=MINUTE, timeout=1.0, windows=3, fleet=fleet)
    assert bound == 3 * 10 + 15


def test_bound_lets_a_burst_wait_into_the_next_minute_only_within_the_timeout():
    fleet = (Provider("a", "groq", rpm=5, rpd=1000),)
    burst = [MINUTE - 0.5] * 10  # ten requests half a second before the minute ends
    patient = upper_bound(burst, minute_seconds=MINUTE, timeout=1.0, windows=2, fleet=fleet)
    impatient = upper_bound(burst, minute_seconds=MINUTE, timeout=0.2, windows=2, fleet=fleet)
    past_the_end = upper_bound(burst, minute_seconds=MINUTE, timeout=1.0, windows=1, fleet=fleet)
    assert (patient, impatient, past_the_end) == (10, 5, 5)


def test_no_router_beats_the_bound():
    """An online router that always knows who has room (never a 429) serves exactly the bound
    on a bursty load with binding day budgets, and never more."""
    arrivals = bursty_arrivals(0.8 * sum(p.rpm for p in FLEET) / MINUTE, 10 * MINUTE)
    states = [ProviderState(p, epoch=0.0, minute_seconds=MINUTE) for p in FLEET]
    served = 0
    for t in arrivals:
        for state in states:
            window = int(t // MINUTE)
            used = state.minute_used if state.window == window else 0
            if used < state.provider.rpm and state.day_used < state.provider.rpd:
                served += state.answer(t, "m").status == 200
                break
    bound = upper_bound(arrivals, minute_seconds=MINUTE, timeout=0.0, windows=10)
    assert served == bound
    assert served <= upper_bound(arrivals, minute_seconds=MINUTE, timeout=1.0, windows=10)


def test_bursty_arrivals_average_the_mean_rate():
    arrivals = bursty_arrivals(2.0, 300, burst_factor=3.0, burst_seconds=10)
    assert len(arrivals) == 600
    assert all(t % 30 < 10 for t in arrivals)


def test_bursts_start_where_asked():
    arrivals = bursty_arrivals(1.0, 100, burst_factor=5.0, burst_seconds=4, first_at=40)
    assert min(arrivals) >= 40
    assert len(arrivals) == 3 * 4 * 5  # bursts at 40, 60 and 80, 5 a second for 4 s
