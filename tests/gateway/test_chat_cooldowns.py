"""Route cooldowns, breaker and health in the cache keys the catalog reads; the log reaper."""

import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.utils import timezone

from catalog.route_health import route_cooling_down, route_health
from gateway.models import RequestLog
from gateway.routing.cooldowns import route_record_failure, route_record_success
from gateway.tasks import request_log_reap_stale_task
from providers.errors import ProviderError

ROUTE = (7, "llama-3.3-70b-versatile")


def test_a_429_cools_the_route_down_until_its_retry_after():
    route_record_failure(ROUTE, ProviderError("slow down", kind="rate_limited", retry_after=12))

    until = cache.get("route-cooldown:7:llama-3.3-70b-versatile")
    assert time.time() + 10 < until <= time.time() + 12
    assert route_cooling_down(*ROUTE)


@override_settings(GATEWAY_COOLDOWN_SECONDS=45)
def test_a_bare_429_cools_briefly_not_for_the_default_cooldown():
    """No hint: a few seconds, never past the next minute boundary (see test_backoff)."""
    before = time.time()
    route_record_failure(ROUTE, ProviderError("slow down", kind="rate_limited"))

    until = cache.get("route-cooldown:7:llama-3.3-70b-versatile")
    assert until <= min(before + 6, (before // 60 + 1) * 60 + 1)


@override_settings(GATEWAY_BREAKER_THRESHOLD=3, GATEWAY_BREAKER_TRIAL_SECONDS=30)
def test_the_breaker_opens_on_the_third_5xx_or_timeout_in_a_window():
    route_record_failure(ROUTE, ProviderError("boom", kind="upstream", status=500))
    route_record_failure(ROUTE, ProviderError("slow", kind="timeout"))
    assert not route_cooling_down(*ROUTE)

    route_record_failure(ROUTE, ProviderError("boom", kind="upstream", status=503))

    assert route_cooling_down(*ROUTE)
    assert cache.get("route-cooldown:7:llama-3.3-70b-versatile") > time.time() + 25


def test_a_success_resets_the_breaker_count():
    route_record_failure(ROUTE, ProviderError("boom", kind="upstream"))
    route_record_failure(ROUTE, ProviderError("boom", kind="upstream"))
    route_record_success(ROUTE, 120.0)
    route_record_failure(ROUTE, ProviderError("boom", kind="upstream"))

    assert not route_cooling_down(*ROUTE)


def test_health_counts_and_averages_latency():
    route_record_success(ROUTE, 100.0)
    route_record_success(ROUTE, 200.0)
    route_record_failure(ROUTE, ProviderError("boom", kind="upstream"))

    health = route_health(*ROUTE)
    assert (health["ok"], health["fail"]) == (2, 1)
    assert 100.0 < health["latency_ms"] < 200.0


@override_settings(GATEWAY_HEALTH_FLUSH_SECONDS=60)
def test_successes_are_written_once_per_interval_not_per_request():
    # given a route whose first success was written
    route_record_success(ROUTE, 100.0)
    assert route_health(*ROUTE)["ok"] == 1

    # when four more succeed within the interval
    for latency in (200.0, 200.0, 200.0, 200.0):
        route_record_success(ROUTE, latency)

    # then the shared health has not been touched
    assert route_health(*ROUTE) == {"ok": 1, "fail": 0, "latency_ms": 100.0}

    # and once the interval has passed the next success writes all five, in order
    with override_settings(GATEWAY_HEALTH_FLUSH_SECONDS=0):
        route_record_success(ROUTE, 200.0)
    health = route_health(*ROUTE)
    assert health["ok"] == 6
    assert health["latency_ms"] == pytest.approx(200 - 100 * 0.7**5)


@override_settings(GATEWAY_HEALTH_FLUSH_SECONDS=60, GATEWAY_BREAKER_THRESHOLD=3)
def test_a_failure_writes_the_successes_before_it_so_they_reset_the_breaker():
    route_record_success(ROUTE, 100.0)  # written: the first one
    route_record_failure(ROUTE, ProviderError("boom", kind="upstream"))
    route_record_failure(ROUTE, ProviderError("boom", kind="upstream"))
    route_record_success(ROUTE, 100.0)  # still pending, but it came before the next failure

    route_record_failure(ROUTE, ProviderError("boom", kind="upstream"))

    assert not route_cooling_down(*ROUTE)
    assert (route_health(*ROUTE)["ok"], route_health(*ROUTE)["fail"]) == (2, 3)


def test_a_bad_request_does_not_cool_the_route():
    route_record_failure(ROUTE, ProviderError("bad", kind="bad_request", status=400))

    assert not route_cooling_down(*ROUTE)


@pytest.mark.django_db
@override_settings(GATEWAY_TOTAL_DEADLINE_SECONDS=60)
def test_the_reaper_aborts_rows_stuck_in_progress(workspace):
    stale = RequestLog.objects.create(id="gen-stale", workspace=workspace, endpoint="chat")
    fresh = RequestLog.objects.create(id="gen-fresh", workspace=workspace, endpoint="chat")
    RequestLog.objects.filter(pk=stale.pk).update(created_at=timezone.now() - timedelta(minutes=3))

    reaped = request_log_reap_stale_task()

    assert reaped == 1
    assert RequestLog.objects.get(pk=stale.pk).status == "aborted"
    assert RequestLog.objects.get(pk=fresh.pk).status == "in_progress"


def test_the_reaper_runs_on_beat():
    from django.conf import settings

    entry = settings.BEAT_JOBS["request-log-reaper"]
    assert entry["task"] == "gateway.tasks.request_log_reap_stale_task"
