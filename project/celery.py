"""The reference site's Celery app: Redis broker when REDIS_URL is set, kombu's filesystem transport otherwise.

Its messages and results are "fernet-json" (JSON encrypted with FIELD_ENCRYPTION_KEY; settings.py
selects it), registered by membership/lib/task_messages.py, which also keeps members' data out of
message headers and task log lines. Worker processes and the web process import this module, so
both speak the format.
"""

from __future__ import annotations

import os

from celery import Celery

import membership.lib.task_messages  # noqa: F401  (registers the fernet-json serializer)

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
