"""The directory sync: its state per tenant, its runs, and its schedule (hourly at minute 41, editable in the
admin: Periodic tasks)."""

import django.utils.timezone
from django.db import migrations, models

TASK_NAME = "Sync members with the Microsoft directory"


def schedule(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="41", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC"
    )
    PeriodicTask.objects.get_or_create(
        name=TASK_NAME,
        defaults={
            "task": "graphfns.sync_directory",
            "crontab": crontab,
            "description": "Reads the users changed in Microsoft Entra since the last run (a Graph delta query as "
            "the application) and brings the linked members up to date: names, e-mail, job title, role mappings; "
            "members disabled or deleted in Entra are deactivated.",
        },
    )


def unschedule(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=TASK_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("graphfns", "0004_daily_call_stats"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [
        migrations.CreateModel(
            name="DirectorySync",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("tenant_id", models.CharField(max_length=36, unique=True, verbose_name="Tenant ID")),
                ("delta_link", models.TextField(blank=True, help_text="Where the next round starts: changes since the last one.")),
                ("next_link", models.TextField(blank=True, help_text="The next page of an unfinished round.")),
                ("rounds", models.PositiveIntegerField(default=0, help_text="Delta rounds completed.")),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={"verbose_name": "directory sync state"},
        ),
        migrations.CreateModel(
            name="DirectorySyncRun",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("tenant_id", models.CharField(blank=True, max_length=36, verbose_name="Tenant ID")),
                ("started_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("pages", models.PositiveIntegerField(default=0)),
                ("graph_requests", models.PositiveIntegerField(default=0)),
                ("seen", models.PositiveIntegerField(default=0, help_text="Directory users in the delta.")),
                ("members", models.PositiveIntegerField(default=0, help_text="Of them, members linked here.")),
                ("updated", models.PositiveIntegerField(default=0, help_text="Members whose profile or mapped groups changed.")),
                ("deactivated", models.PositiveIntegerField(default=0)),
                ("reactivated", models.PositiveIntegerField(default=0)),
                ("failed", models.PositiveIntegerField(default=0, help_text="Members not brought up to date; see the server log.")),
                ("complete", models.BooleanField(default=False, help_text="The delta round was read to its end.")),
                ("error_code", models.CharField(blank=True, max_length=64)),
                ("note", models.CharField(blank=True, max_length=500)),
            ],
            options={"verbose_name": "directory sync run", "ordering": ["-started_at"]},
        ),
        migrations.RunPython(schedule, unschedule),
    ]
