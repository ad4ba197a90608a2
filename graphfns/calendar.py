"""Microsoft 365 Calendar: the calendar family of Graph functions."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from graphfns.execution import Call
from graphfns.registry import USER_ID, function, schema

READ = ("Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared", "Calendars.ReadWrite.Shared")
WRITE = ("Calendars.ReadWrite", "Calendars.ReadWrite.Shared")
APP_READ = ("Calendars.Read", "Calendars.ReadWrite")
APP_WRITE = ("Calendars.ReadWrite",)
DATETIME = {"type": "string", "format": "date-time", "minLength": 10, "maxLength": 40,
            "description": "ISO 8601, e.g. 2026-12-01T09:00:00Z"}


@function(
    "calendar.calendar_view",
    description="Events between start and end, with recurring series expanded into occurrences.",
    params=schema({
        "user_id": USER_ID,
        "start": DATETIME,
        "end": DATETIME,
        "calendar_id": {"type": "string", "minLength": 1, "maxLength": 512},
        "select": {"type": "array", "items": {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9]*$"}},
        "limit": {"type": "integer", "minimum": 1, "maximum": 10000},
        "time_zone": {"type": "string", "maxLength": 100, "description": "Prefer: outlook.timezone"},
    }, ["user_id", "start", "end"]),
    delegated=READ,
    application=APP_READ,
    example={"user_id": "me", "start": "2026-12-01T00:00:00Z", "end": "2026-12-08T00:00:00Z"},
)
def calendar_view(call: Call, params: dict[str, Any]) -> Any:
    base = call.user_path(params["user_id"])
    path = f"{base}/calendars/{params['calendar_id']}/calendarView" if params.get("calendar_id") else \
        f"{base}/calendarView"
    query: dict[str, Any] = {"startDateTime": params["start"], "endDateTime": params["end"], "$orderby": "start/dateTime"}
    if params.get("select"):
        query["$select"] = ",".join(params["select"])
    headers = {"Prefer": f'outlook.timezone="{params["time_zone"]}"'} if params.get("time_zone") else {}
    events = list(call.client.pages(path, params=query, headers=headers, limit=params.get("limit")))
    return {"value": events, "count": len(events)}


def transaction_id(call: Call, params: dict[str, Any]) -> str:
    """Graph dedupes event creation by transactionId: derive it from the caller's idempotency key."""
    key = params.get("idempotency_key") or call.idempotency_key or str(uuid.uuid4())
    who = call.auth_user.pk if call.auth_user is not None else "app"
    return str(uuid.UUID(hashlib.sha256(f"{who}|{params['user_id']}|{key}".encode()).hexdigest()[:32]))


@function(
    "calendar.create_event",
    description="Create an event (idempotent: the same idempotency_key never creates a second event).",
    params=schema({
        "user_id": USER_ID,
        "calendar_id": {"type": "string", "minLength": 1, "maxLength": 512},
        "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 200},
        "event": {"type": "object", "required": ["subject", "start", "end"], "properties": {
            "subject": {"type": "string", "minLength": 1, "maxLength": 255},
            "start": {"type": "object", "required": ["dateTime", "timeZone"]},
            "end": {"type": "object", "required": ["dateTime", "timeZone"]},
        }},
    }, ["user_id", "event"]),
    delegated=WRITE,
    application=APP_WRITE,
    example={"user_id": "me", "idempotency_key": "signup-42", "event": {
        "subject": "Welcome call", "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T09:30:00", "timeZone": "UTC"}}},
    writes=True,
)
def create_event(call: Call, params: dict[str, Any]) -> Any:
    base = call.user_path(params["user_id"])
    path = f"{base}/calendars/{params['calendar_id']}/events" if params.get("calendar_id") else f"{base}/events"
    body = {**params["event"], "transactionId": transaction_id(call, params)}
    # Safe to resend after a dropped connection: the transactionId makes Graph return the same event.
    return call.client.request("POST", path, json=body, idempotent=True).body
