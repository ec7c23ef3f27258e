"""One beat per deployment: a second beat started beside the first sends nothing, and takes over
once the first one stops (config/beat.py). Both read the same jobs from the database."""

from datetime import timedelta

import pytest
from celery import Celery
from django_celery_beat.models import IntervalSchedule, PeriodicTask, PeriodicTasks
from django_celery_beat.schedulers import DatabaseScheduler

from config.beat import LOCK_SECONDS, REFRESH_SECONDS, SingleBeatScheduler

# Beat closes stale connections and commits between reads, as in production: no test transaction.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def app(started) -> Celery:
    PeriodicTask.objects.all().delete()  # only this test's job, not the project's seeded ones
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


@pytest.fixture
def started():
    """Every beat a test starts, closed at its end even when the test fails (a beat also writes
    its rows back when the process exits, by then without a test database)."""
    beats: list[Beat] = []
    yield beats
    for beat in beats:
        beat.close()
        beat._finalize.cancel()


@pytest.fixture
def start(app, started):
    def start(name: str) -> Beat:
        beat = Beat(app=app, lazy=False)
        started.append(beat)
        return beat

    return start


def due_now(beat: Beat) -> None:
    """Every entry is due at the next tick (as if its interval had just passed)."""
    for entry in beat.schedule.values():
        entry.last_run_at = entry.default_now() - timedelta(hours=1)
    beat._heap = None  # rebuilt from the entries on the next tick


def test_a_second_beat_sends_nothing_while_the_first_runs(app, start):
    first, second = start("a"), start("b")

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


def test_the_standby_takes_over_when_the_first_beat_stops(app, start):
    first, second = start("a"), start("b")
    due_now(first)
    first.tick()
    second.tick()

    first.close()
    due_now(second)
    second.tick()

    assert second.sent == ["job"]
    second.close()


def test_a_beat_that_died_without_closing_is_replaced_after_the_lock_expires(app, start):
    first, second = start("a"), start("b")
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


def test_the_holder_never_sleeps_past_its_lock_refresh(app, start):
    app.conf.beat_schedule = {"daily": {"task": "beat_test.job", "schedule": timedelta(days=1)}}
    app.conf.beat_max_loop_interval = 300
    beat = start("a")
    beat.tick()  # the first run of a new entry

    assert beat.tick() == REFRESH_SECONDS
    beat.close()


def test_the_project_uses_the_single_beat_scheduler_over_the_database():
    from config.celery import app as project_app

    assert project_app.conf.beat_scheduler == "config.beat.SingleBeatScheduler"
    assert issubclass(SingleBeatScheduler, DatabaseScheduler)
    assert project_app.conf.beat_schedule == {}  # it would overwrite the operators' edits


def test_a_job_an_operator_paused_is_not_sent(app, start):
    first = start("a")
    PeriodicTask.objects.filter(name="job").update(enabled=False)
    PeriodicTasks.update_changed()  # what the admin's save does

    due_now(first)
    first.tick()

    assert first.sent == []


def test_a_job_an_operator_retimed_follows_the_new_interval(app, start):
    beat = start("a")
    beat.tick()
    assert beat.schedule["job"].schedule.run_every == timedelta(seconds=1)

    task = PeriodicTask.objects.get(name="job")
    task.interval = IntervalSchedule.objects.create(every=2, period=IntervalSchedule.HOURS)
    task.save()  # as the admin saves it

    assert beat.schedule["job"].schedule.run_every == timedelta(hours=2)
