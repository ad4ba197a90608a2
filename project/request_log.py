"""One log line per request, a request id on every log line, and the JSON format (LOG_FORMAT=json).

``RequestLogMiddleware`` takes the request id from a proxy's ``X-Request-ID`` (when it looks like
one) or makes one, returns it in the response's ``X-Request-ID``, and logs the request's method,
path (never the query string: the sign-in callback carries a code there), status and duration.
``RequestIdFilter`` puts the id on every record logged while the request runs, and
``JsonFormatter`` writes each record as one JSON object per line, with only the fields listed in
FIELDS: what the code chose to log, never arbitrary attributes.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from contextvars import ContextVar
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse

log = logging.getLogger("project.requests")

_request_id: ContextVar[str] = ContextVar("request_id", default="")
INCOMING_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")
QUIET_PATHS = {"/healthz", "/readyz", "/metrics"}  # probes and scrapes every few seconds


def current_request_id() -> str:
    return _request_id.get()


class RequestLogMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if INCOMING_ID.fullmatch(incoming) else uuid.uuid4().hex
        token = _request_id.set(request_id)
        started = time.perf_counter()
        try:
            response = self.get_response(request)
            response["X-Request-ID"] = request_id
            if request.path not in QUIET_PATHS:
                duration = round((time.perf_counter() - started) * 1000, 2)
                log.info("%s %s %s %.1f ms", request.method, request.path, response.status_code, duration,
                         extra={"method": request.method, "path": request.path, "status": response.status_code,
                                "duration_ms": duration})
            return response
        finally:
            _request_id.reset(token)


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    FIELDS = ("request_id", "method", "path", "status", "duration_ms", "function", "caller", "mode", "code",
              "graph_requests", "graph_request_id", "client_request_id")

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self.FIELDS:
            value = getattr(record, name, None)
            if value not in (None, ""):
                entry[name] = value
        if record.exc_info:
            entry["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else ""
            entry["traceback"] = record.exc_text or self.formatException(record.exc_info)
        return json.dumps(entry, default=str)
