"""Schedule the refresh sweep daily at 03:00 UTC (editable in the admin: Periodic tasks)."""

from django.db import migrations

TASK_NAME = "Renew Microsoft refresh tokens"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="0", hour="3", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "membership.sweep_refresh_tokens",
            "crontab": crontab,
            "description": "Renews members' refresh tokens not renewed for MICROSOFT_REFRESH_AFTER_DAYS days, "
            "so Graph can be called for them while they are away.",
        },
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("membership", "0002_refresh_sweep"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(schedule, unschedule)]
