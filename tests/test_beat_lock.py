"""One beat per deployment: a second beat started beside the first sends nothing, and takes over
once the first one stops (config/beat.py)."""

from datetime import timedelta

import pytest
from celery import Celery

from config.beat import LOCK_SECONDS, REFRESH_SECONDS, SingleBeatScheduler


@pytest.fixture
def app() -> Celery:
    app = Celery("beat-test", broker="memory://", set_as_current=False)
    app.conf.beat_schedule = {
        "job": {"task": "beat_test.job", "schedule": timedelta(seconds=1)},
    }
    return app


class Beat(SingleBeatScheduler):
    """The real scheduler; what it would send to the broker is recorded instead."""

    def __init__(self, *args, **kwargs) -> None:
        self.sent: list[str] = []
        super().__init__(*args, **kwargs)

    def apply_async(self, entry, producer=None, advance=True, **kwargs):
        self.sent.append(entry.name)
        return None


def start(app: Celery, tmp_path, name: str) -> Beat:
    return Beat(app=app, schedule_filename=str(tmp_path / name), lazy=False)


def due_now(beat: Beat) -> None:
    """Every entry is due at the next tick (as if its interval had just passed)."""
    for entry in beat.schedule.values():
        entry.last_run_at = entry.default_now() - timedelta(hours=1)
    beat._heap = None  # rebuilt from the entries on the next tick


def test_a_second_beat_sends_nothing_while_the_first_runs(app, tmp_path):
    first, second = start(app, tmp_path, "a"), start(app, tmp_path, "b")

    for _ in range(3):
        due_now(first)
        due_now(second)
        first.tick()
        wait = second.tick()

    assert first.sent.count("job") == 3
    assert second.sent == []
    assert wait == REFRESH_SECONDS  # the standby asks again soon, it does not sleep for minutes
    first.close()
    second.close()


def test_the_standby_takes_over_when_the_first_beat_stops(app, tmp_path):
    first, second = start(app, tmp_path, "a"), start(app, tmp_path, "b")
    due_now(first)
    first.tick()
    second.tick()

    first.close()
    due_now(second)
    second.tick()

    assert second.sent == ["job"]
    second.close()


def test_a_beat_that_died_without_closing_is_replaced_after_the_lock_expires(app, tmp_path):
    first, second = start(app, tmp_path, "a"), start(app, tmp_path, "b")
    first.tick()  # holds the lock, then is killed: no close()
    second.tick()
    assert second.sent == []

    from django.core.cache import cache

    cache.delete("lock:celery-beat")  # what LOCK_SECONDS of silence does
    due_now(second)
    second.tick()

    assert second.sent == ["job"]
    assert LOCK_SECONDS > REFRESH_SECONDS * 2  # a live holder refreshes well before expiry
    second.close()


def test_the_holder_never_sleeps_past_its_lock_refresh(app, tmp_path):
    app.conf.beat_schedule = {"daily": {"task": "beat_test.job", "schedule": timedelta(days=1)}}
    app.conf.beat_max_loop_interval = 300
    beat = start(app, tmp_path, "a")
    beat.tick()  # the first run of a new entry

    assert beat.tick() == REFRESH_SECONDS
    beat.close()


def test_the_project_uses_the_single_beat_scheduler():
    from config.celery import app as project_app

    assert project_app.conf.beat_scheduler == "config.beat.SingleBeatScheduler"
