"""The periodic jobs are database rows (django-celery-beat), seeded once from settings.BEAT_JOBS by
a data migration; after that the operators' edits in the admin are the schedule."""

import importlib
from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.test import override_settings
from django_celery_beat.models import IntervalSchedule, PeriodicTask

pytestmark = pytest.mark.django_db

seeding = importlib.import_module("gateway.migrations.0006_beat_jobs_seeded")


def _reseed() -> None:
    seeding.seed_beat_jobs(apps, None)


def test_every_job_in_the_settings_has_a_row_with_its_task_and_interval():
    PeriodicTask.objects.all().delete()

    _reseed()

    rows = {task.name: task for task in PeriodicTask.objects.select_related("interval")}
    assert sorted(rows) == sorted(settings.BEAT_JOBS)
    for name, job in settings.BEAT_JOBS.items():
        assert rows[name].task == job["task"]
        assert rows[name].enabled
        assert rows[name].interval.schedule.run_every == timedelta(seconds=job["every"])


def test_the_tasks_named_by_the_jobs_exist():
    from config.celery import app

    app.loader.import_default_modules()
    for job in settings.BEAT_JOBS.values():
        assert job["task"] in app.tasks


@override_settings(
    BEAT_JOBS={
        "catalog-sync": {"task": "catalog.tasks.catalog_sync_all_task", "every": 6 * 3600},
        "odd": {"task": "catalog.tasks.provider_check_all_task", "every": 90},
    }
)
def test_intervals_read_in_their_largest_whole_unit():
    PeriodicTask.objects.all().delete()

    _reseed()

    intervals = {t.name: (t.interval.every, t.interval.period) for t in PeriodicTask.objects.all()}
    assert intervals == {"catalog-sync": (6, "hours"), "odd": (90, "seconds")}


def test_seeding_again_keeps_what_an_operator_changed():
    PeriodicTask.objects.all().delete()
    _reseed()
    edited = PeriodicTask.objects.get(name="provider-check")
    edited.enabled = False
    edited.interval = IntervalSchedule.objects.create(every=2, period=IntervalSchedule.HOURS)
    edited.save()

    _reseed()

    edited.refresh_from_db()
    assert not edited.enabled
    assert (edited.interval.every, edited.interval.period) == (2, "hours")
    assert PeriodicTask.objects.filter(name="provider-check").count() == 1


def test_the_procfile_beat_runs_the_project_scheduler_and_no_schedule_file():
    procfile = (Path(settings.BASE_DIR) / "Procfile").read_text()
    beat = next(line for line in procfile.splitlines() if line.startswith("beat:"))

    assert beat == "beat: celery -A config beat -l info"  # the scheduler comes from settings
    assert not hasattr(settings, "CELERY_BEAT_SCHEDULE_FILENAME")
