"""Maintain the call log hourly at minute 17 (editable in the admin: Periodic tasks)."""

from django.db import migrations

TASK_NAME = "Maintain the Graph function call log"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="17", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "graphfns.maintain_call_log",
            "crontab": crontab,
            "description": "Sums up the function call log per function and day (today so far too), deletes "
            "entries older than GRAPH_CALL_LOG_RETENTION_DAYS in batches of GRAPH_CALL_LOG_PURGE_BATCH_SIZE for at "
            "most 4 minutes a run, and daily statistics older than GRAPH_CALL_STATS_RETENTION_DAYS.",
        },
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("graphfns", "0002_call_log_indexes"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
