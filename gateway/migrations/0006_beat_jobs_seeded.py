"""The periodic jobs as django-celery-beat rows, from settings.BEAT_JOBS (the environment's
intervals). A job that already has a row is left as the operator set it."""

from django.conf import settings
from django.db import migrations

UNITS = (("days", 86400), ("hours", 3600), ("minutes", 60))


def _interval(seconds):
    """The largest whole unit, so the admin reads "every 6 hours" rather than 21600 seconds."""
    for period, size in UNITS:
        if seconds % size == 0:
            return seconds // size, period
    return seconds, "seconds"


def seed_beat_jobs(apps, schema_editor):
    IntervalSchedule = apps.get_model("django_celery_beat", "IntervalSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, job in settings.BEAT_JOBS.items():
        every, period = _interval(int(job["every"]))
        interval = IntervalSchedule.objects.filter(every=every, period=period).first()
        if interval is None:  # the admin allows duplicates, so no get_or_create
            interval = IntervalSchedule.objects.create(every=every, period=period)
        PeriodicTask.objects.get_or_create(
            name=name, defaults={"task": job["task"], "interval": interval}
        )


def unseed_beat_jobs(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=list(settings.BEAT_JOBS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("gateway", "0005_stored_responses"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(seed_beat_jobs, unseed_beat_jobs)]
