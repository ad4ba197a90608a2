"""The Celery app: Redis broker when REDIS_URL is set, kombu's filesystem transport otherwise.

Task messages and results hold members' data (a new user's password, a profile), and both rest
outside the database: in Redis or in files under VAR_DIR. So they are serialized as JSON and then
encrypted with FIELD_ENCRYPTION_KEY ("fernet-json"), and the argument summaries Celery copies into
message headers and log lines are blanked. Worker processes and the web process import this module,
so both speak the format.
"""

from __future__ import annotations

import logging
import os
import traceback
from typing import Any

from celery import Celery
from celery.signals import before_task_publish
from kombu.serialization import register
from kombu.utils import json

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

SERIALIZER = "fernet-json"
HIDDEN = "(not logged)"


def _encode(data: Any) -> str:
    # Imported here: this module loads with the project package, before Django's apps are ready.
    from membership.lib.encryption import encrypt

    return encrypt(json.dumps(data))


def _decode(payload: str | bytes) -> Any:
    from membership.lib.encryption import decrypt

    text = payload.decode() if isinstance(payload, bytes) else payload
    return json.loads(decrypt(text, "a Celery task message or result"))


register(SERIALIZER, _encode, _decode, content_type="application/x-fernet-json", content_encoding="utf-8")

app = Celery("project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@before_task_publish.connect
def _hide_argument_summaries(headers: dict[str, Any] | None = None, **kwargs: object) -> None:
    # Celery's message protocol copies repr(args) into the headers, outside the encrypted body, and
    # workers put it in their log records; a retry publishes again and passes here too.
    if headers is not None:
        for field in ("argsrepr", "kwargsrepr"):
            if field in headers:
                headers[field] = HIDDEN


class TaskLogFilter(logging.Filter):
    """Celery's per-task log lines without values (installed on ``celery.app.trace`` by LOGGING).

    Success: the task's name, id and duration, not its return value. Failure: the exception's type and
    the traceback's frames, not the exception's text, which may quote a member's data.
    """

    SUCCESS = "Task %(name)s[%(id)s] succeeded in %(runtime)ss"

    def filter(self, record: logging.LogRecord) -> bool:
        context = record.args
        if not isinstance(context, dict):
            return True
        if "return_value" in context:
            record.msg = self.SUCCESS
            record.args = {k: context[k] for k in ("id", "name", "runtime")}
        elif "traceback" in context:
            exc_type = record.exc_info[0] if record.exc_info else None
            kind = f"{exc_type.__module__}.{exc_type.__qualname__}" if exc_type else "an error"
            safe = {**context, "exc": kind, "traceback": HIDDEN, "args": HIDDEN, "kwargs": HIDDEN}
            record.args = safe
            if isinstance(getattr(record, "data", None), dict):
                record.data = safe
            if record.exc_info and record.exc_info[2] is not None:
                frames = "".join(traceback.format_tb(record.exc_info[2]))
                record.exc_text = f"Traceback (most recent call last):\n{frames}{kind} (message not logged)"
        return True
