"""Celery task messages and log lines that carry no member's data, for whichever Celery app the site runs.

Task messages and results hold members' data (a new user's password, a profile), and both rest
outside the database (the broker, the result backend). Importing this module registers the
"fernet-json" serializer: JSON encrypted with FIELD_ENCRYPTION_KEY, which a site selects with
CELERY_TASK_SERIALIZER / CELERY_RESULT_SERIALIZER / CELERY_ACCEPT_CONTENT (the reference site does).
``install()`` (membership's ready()) blanks the argument summaries Celery copies into message headers
and log lines, and makes Celery's per-task log lines name the task, never its values.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any

from celery.signals import before_task_publish
from kombu.serialization import register
from kombu.utils import json

SERIALIZER = "fernet-json"
HIDDEN = "(not logged)"


def _encode(data: Any) -> str:
    # Imported here: this module may load before Django's apps are ready (with the site's Celery app).
    from membership.lib.encryption import encrypt

    return encrypt(json.dumps(data))


def _decode(payload: str | bytes) -> Any:
    from membership.lib.encryption import decrypt

    text = payload.decode() if isinstance(payload, bytes) else payload
    return json.loads(decrypt(text, "a Celery task message or result"))


register(SERIALIZER, _encode, _decode, content_type="application/x-fernet-json", content_encoding="utf-8")


def _hide_argument_summaries(headers: dict[str, Any] | None = None, **kwargs: object) -> None:
    # Celery's message protocol copies repr(args) into the headers, outside the encrypted body, and
    # workers put it in their log records; a retry publishes again and passes here too.
    if headers is not None:
        for field in ("argsrepr", "kwargsrepr"):
            if field in headers:
                headers[field] = HIDDEN


class TaskLogFilter(logging.Filter):
    """Celery's per-task log lines without values (on the ``celery.app.trace`` logger).

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


def install() -> None:
    """Blank argument summaries on every task published from this process, and filter Celery's task
    log lines (once per process, whatever the site's LOGGING says)."""
    before_task_publish.connect(_hide_argument_summaries, dispatch_uid="membership-hide-argument-summaries")
    trace = logging.getLogger("celery.app.trace")
    if not any(isinstance(f, TaskLogFilter) for f in trace.filters):
        trace.addFilter(TaskLogFilter())
