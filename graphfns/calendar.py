"""Microsoft 365 Calendar: the calendar family of Graph functions."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any

from graphfns.client import graph_failure
from graphfns.errors import FunctionError
from graphfns.registry import USER_ID, Call, function, schema
from graphfns.resources import (
    REQUEST_PARAMS,
    SELECT,
    checked_path,
    collection,
    entity,
    joined,
    paging,
    pass_through,
    segment,
    select,
    user_root,
)

READ = ("Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared",
        "Calendars.ReadWrite.Shared")
WRITE = ("Calendars.ReadWrite", "Calendars.ReadWrite.Shared")
APP_READ = ("Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite")
APP_READ_FULL = ("Calendars.Read", "Calendars.ReadWrite")
APP_WRITE = ("Calendars.ReadWrite",)
SCHEDULE = ("Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite", "Calendars.Read.Shared")
FIND_TIMES = ("Calendars.Read.Shared", "Calendars.ReadWrite.Shared")

DATETIME = {"type": "string", "minLength": 10, "maxLength": 40,
            "pattern": r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?)?(Z|[+-]\d{2}:\d{2})?$",
            "description": "ISO 8601, e.g. 2026-12-01T09:00:00Z (no offset: in time_zone, else UTC)"}
# Sent in the Prefer header: printable ASCII only (zone names are), or the request could not be sent at all.
TIME_ZONE = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": r"^[ !#-~]*$",
             "description": "Windows or IANA zone for times in the answer, e.g. 'Pacific Standard Time'."}
ITEM_ID = {"type": "string", "minLength": 1, "maxLength": 512}
EMAIL = {"type": "string", "maxLength": 320, "pattern": r"^[^@\s]+@[^@\s]+$"}
COLOR = {"type": "string", "enum": ["auto", "lightBlue", "lightGreen", "lightOrange", "lightGray", "lightYellow",
                                   "lightTeal", "lightPink", "lightBrown", "lightRed", "maxColor"]}
PAGING = paging(1000, "events")  # Outlook collections

_ZONED = {"type": "object", "required": ["dateTime", "timeZone"], "additionalProperties": False, "properties": {
    "dateTime": DATETIME, "timeZone": {"type": "string", "minLength": 1, "maxLength": 100}}}
_ATTENDEE = {"type": "object", "required": ["emailAddress"], "additionalProperties": False, "properties": {
    "emailAddress": {"type": "object", "required": ["address"], "additionalProperties": False,
                     "properties": {"address": EMAIL, "name": {"type": "string", "maxLength": 256}}},
    "type": {"type": "string", "enum": ["required", "optional", "resource"]}}}
_LOCATION = {"type": "object", "properties": {"displayName": {"type": "string", "maxLength": 256}}}
# The event properties a caller may set, as Graph names them.
EVENT_PROPERTIES: dict[str, Any] = {
    "subject": {"type": "string", "maxLength": 255},
    "body": {"type": "object", "additionalProperties": False, "required": ["content"], "properties": {
        "contentType": {"type": "string", "enum": ["text", "html"]}, "content": {"type": "string"}}},
    "start": _ZONED,
    "end": _ZONED,
    "location": _LOCATION,
    "locations": {"type": "array", "items": _LOCATION, "maxItems": 20},
    "attendees": {"type": "array", "items": _ATTENDEE, "maxItems": 500},
    "showAs": {"type": "string", "enum": ["free", "tentative", "busy", "oof", "workingElsewhere", "unknown"]},
    "importance": {"type": "string", "enum": ["low", "normal", "high"]},
    "sensitivity": {"type": "string", "enum": ["normal", "personal", "private", "confidential"]},
    "isAllDay": {"type": "boolean"},
    "categories": {"type": "array", "items": {"type": "string", "maxLength": 255}, "maxItems": 25},
    "recurrence": {"type": ["object", "null"], "required": ["pattern", "range"],
                   "properties": {"pattern": {"type": "object"}, "range": {"type": "object"}}},
    "isOnlineMeeting": {"type": "boolean"},
    "onlineMeetingProvider": {"type": "string", "enum": ["unknown", "teamsForBusiness", "skypeForBusiness",
                                                         "skypeForConsumer"]},
    "reminderMinutesBeforeStart": {"type": "integer", "minimum": 0, "maximum": 40320},
    "isReminderOn": {"type": "boolean"},
    "responseRequested": {"type": "boolean"},
    "allowNewTimeProposals": {"type": "boolean"},
    "hideAttendees": {"type": "boolean"},
}
NEW_EVENT = {"type": "object", "required": ["subject", "start", "end"], "properties": EVENT_PROPERTIES,
             "additionalProperties": False}
EVENT_EXAMPLE = {"subject": "Welcome call", "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
                 "end": {"dateTime": "2026-12-01T09:30:00", "timeZone": "UTC"},
                 "attendees": [{"emailAddress": {"address": "megan@contoso.test"}, "type": "required"}]}


def _calendar_base(call: Call, params: dict[str, Any]) -> str:
    """The user's given calendar (calendar_id) or their default one."""
    base = call.user_path(params["user_id"])
    return f"{base}/calendars/{segment(params['calendar_id'])}" if params.get("calendar_id") else f"{base}/calendar"


def _in_calendar(call: Call, params: dict[str, Any], name: str) -> str:
    """``events`` or ``calendarView`` of the given calendar (calendar_id), else of the user's default one."""
    base = call.user_path(params["user_id"])
    return f"{base}/calendars/{segment(params['calendar_id'])}/{name}" if params.get("calendar_id") else \
        f"{base}/{name}"


def _event_path(call: Call, params: dict[str, Any]) -> str:
    return f"{call.user_path(params['user_id'])}/events/{segment(params['event_id'])}"


def _prefer(params: dict[str, Any]) -> dict[str, str]:
    return {"Prefer": f'outlook.timezone="{params["time_zone"]}"'} if params.get("time_zone") else {}


def _zoned(value: str, time_zone: str | None, field: str = "start") -> dict[str, str]:
    """An ISO time as Graph's dateTimeTimeZone: with an offset it is converted to UTC, else it is in time_zone."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise FunctionError("ValidationError", f"{field}: {value!r} is not a valid date and time.",
                            field=field) from None
    if moment.tzinfo is not None:
        return {"dateTime": moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}
    return {"dateTime": moment.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": time_zone or "UTC"}


def _window(params: dict[str, Any]) -> None:
    """Check start < end before any call (the schema checks their shape, not their order)."""
    start, end = (_zoned(params[k], params.get("time_zone"), k) for k in ("start", "end"))
    if start["timeZone"] == end["timeZone"] and start["dateTime"] >= end["dateTime"]:
        raise FunctionError("ValidationError", "end: must be later than start.", field="end")


# -- calendars ------------------------------------------------------------------------------------


@function(
    "calendar.list_calendars",
    description="A user's calendars.",
    params=schema({"user_id": USER_ID, **paging(1000, "calendars")}, ["user_id"]),
    delegated=READ,
    application=APP_READ,
    example={"user_id": "me"},
)
def list_calendars(call: Call, params: dict[str, Any]) -> Any:
    return collection(call, call.user_path(params["user_id"]) + "/calendars", params, {})


@function(
    "calendar.get_calendar",
    description="One calendar of a user (their default calendar without calendar_id).",
    params=schema({"user_id": USER_ID, "calendar_id": ITEM_ID}, ["user_id"]),
    delegated=READ,
    application=APP_READ,
    example={"user_id": "me"},
)
def get_calendar(call: Call, params: dict[str, Any]) -> Any:
    return entity(call.client.get(_calendar_base(call, params)))


@function(
    "calendar.create_calendar",
    description="Create a calendar for a user.",
    params=schema({"user_id": USER_ID, "name": {"type": "string", "minLength": 1, "maxLength": 255},
                   "color": COLOR}, ["user_id", "name"]),
    delegated=WRITE,
    application=APP_WRITE,
    example={"user_id": "me", "name": "Volunteering", "color": "lightGreen"},
    writes=True,
)
def create_calendar(call: Call, params: dict[str, Any]) -> Any:
    body = {k: params[k] for k in ("name", "color") if k in params}
    return entity(call.client.request("POST", call.user_path(params["user_id"]) + "/calendars", json=body).body)


@function(
    "calendar.update_calendar",
    description="Rename or recolour a calendar.",
    params=schema({"user_id": USER_ID, "calendar_id": ITEM_ID,
                   "name": {"type": "string", "minLength": 1, "maxLength": 255}, "color": COLOR},
                  ["user_id", "calendar_id"]),
    delegated=WRITE,
    application=APP_WRITE,
    example={"user_id": "me", "calendar_id": "AAMkAGI2TGuLAAA=", "name": "Volunteering 2027"},
    writes=True,
)
def update_calendar(call: Call, params: dict[str, Any]) -> Any:
    body = {k: params[k] for k in ("name", "color") if k in params}
    if not body:
        raise FunctionError("ValidationError", "name: give a new name or color.", field="name")
    return entity(call.client.request("PATCH", _calendar_base(call, params), json=body).body)


@function(
    "calendar.delete_calendar",
    description="Delete a calendar and its events (the default calendar cannot be deleted).",
    params=schema({"user_id": USER_ID, "calendar_id": ITEM_ID}, ["user_id", "calendar_id"]),
    delegated=WRITE,
    application=APP_WRITE,
    example={"user_id": "me", "calendar_id": "AAMkAGI2TGuLAAA="},
    writes=True,
)
def delete_calendar(call: Call, params: dict[str, Any]) -> Any:
    call.client.request("DELETE", _calendar_base(call, params))
    return {"calendar_id": params["calendar_id"], "deleted": True}


# -- events ---------------------------------------------------------------------------------------


@function(
    "calendar.list_events",
    description="Events of a user's calendar (series masters, not occurrences), filtered and ordered; all pages, "
                "or one page with a cursor.",
    params=schema({
        "user_id": USER_ID,
        "calendar_id": ITEM_ID,
        "filter": {"type": "string", "maxLength": 2000, "description": "OData $filter, e.g. startswith(subject,'Q')"},
        "orderby": {"type": "string", "maxLength": 100, "description": "e.g. start/dateTime desc"},
        "select": SELECT,
        "time_zone": TIME_ZONE,
        **PAGING,
    }, ["user_id"]),
    delegated=READ,
    application=APP_READ,
    example={"user_id": "me", "filter": "startswith(subject,'Quarterly')", "select": ["subject", "start", "end"]},
)
def list_events(call: Call, params: dict[str, Any]) -> Any:
    path = _in_calendar(call, params, "events")
    query: dict[str, Any] = select(params)
    if params.get("filter"):
        query["$filter"] = params["filter"]
    if params.get("orderby"):
        query["$orderby"] = params["orderby"]
    return collection(call, path, params, query, _prefer(params))


@function(
    "calendar.get_event",
    description="One event (or one occurrence of a series).",
    params=schema({"user_id": USER_ID, "event_id": ITEM_ID, "select": SELECT, "time_zone": TIME_ZONE},
                  ["user_id", "event_id"]),
    delegated=READ,
    application=APP_READ,
    example={"user_id": "me", "event_id": "AAMkAGIAAAoZDOFAAA=", "time_zone": "W. Europe Standard Time"},
)
def get_event(call: Call, params: dict[str, Any]) -> Any:
    return entity(call.client.get(_event_path(call, params), params=select(params) or None, headers=_prefer(params)))


@function(
    "calendar.calendar_view",
    description="Events between start and end, with recurring series expanded into occurrences.",
    params=schema({
        "user_id": USER_ID,
        "start": DATETIME,
        "end": DATETIME,
        "calendar_id": ITEM_ID,
        "select": SELECT,
        "limit": {"type": "integer", "minimum": 1, "maximum": 10000},
        "time_zone": TIME_ZONE,
    }, ["user_id", "start", "end"]),
    delegated=READ,
    application=APP_READ,
    example={"user_id": "me", "start": "2026-12-01T00:00:00Z", "end": "2026-12-08T00:00:00Z"},
)
def calendar_view(call: Call, params: dict[str, Any]) -> Any:
    _window(params)
    path = _in_calendar(call, params, "calendarView")
    query: dict[str, Any] = {"startDateTime": params["start"], "endDateTime": params["end"],
                             "$orderby": "start/dateTime", **select(params)}
    events = list(call.client.pages(path, params=query, headers=_prefer(params), limit=params.get("limit")))
    return {"value": events, "count": len(events)}


def transaction_id(call: Call, params: dict[str, Any], item: int | None = None) -> str:
    """Graph dedupes event creation by transactionId: derive it from the caller's idempotency key."""
    key = params.get("idempotency_key") or call.idempotency_key or str(uuid.uuid4())
    who = call.auth_user.pk if call.auth_user is not None else "app"
    seed = f"{who}|{params['user_id']}|{key}" + ("" if item is None else f"|{item}")
    return str(uuid.UUID(hashlib.sha256(seed.encode()).hexdigest()[:32]))


@function(
    "calendar.create_event",
    description="Create an event (idempotent: the same idempotency_key never creates a second event).",
    params=schema({
        "user_id": USER_ID,
        "calendar_id": ITEM_ID,
        "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 200},
        "event": NEW_EVENT,
    }, ["user_id", "event"]),
    delegated=WRITE,
    application=APP_WRITE,
    example={"user_id": "me", "idempotency_key": "signup-42", "event": EVENT_EXAMPLE},
    writes=True,
)
def create_event(call: Call, params: dict[str, Any]) -> Any:
    body = {**params["event"], "transactionId": transaction_id(call, params)}
    # Safe to resend after a dropped connection: the transactionId makes Graph return the same event.
    return entity(call.client.request("POST", _in_calendar(call, params, "events"), json=body, idempotent=True).body)


@function(
    "calendar.create_events",
    description="Create many events in one calendar through $batch; each is idempotent, so a retried call "
                "with the same idempotency_key creates none twice. Failures are listed per item.",
    params=schema({
        "user_id": USER_ID,
        "calendar_id": ITEM_ID,
        "idempotency_key": {"type": "string", "minLength": 1, "maxLength": 200},
        "events": {"type": "array", "items": NEW_EVENT, "minItems": 1, "maxItems": 1000},
    }, ["user_id", "events"]),
    delegated=WRITE,
    application=APP_WRITE,
    example={"user_id": "me", "idempotency_key": "rota-2026-12", "events": [EVENT_EXAMPLE]},
    bulk=True,
    writes=True,
)
def create_events(call: Call, params: dict[str, Any]) -> Any:
    path = _in_calendar(call, params, "events")
    events: list[dict[str, Any]] = params["events"]
    created: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    call.report(0, len(events))
    # No dependsOn: the events are independent, and a dependency would turn one failure into 424s for the
    # rest. Graph's per-mailbox concurrency limit answers 429 per item, which client.batch retries.
    requests: list[dict[str, Any]] = [{"id": str(i), "method": "POST", "url": path,
                                       "body": {**event, "transactionId": transaction_id(call, params, i)}}
                                      for i, event in enumerate(events)]
    answers = call.client.batch(requests, progress=lambda answered: call.report(answered, len(events)))
    for r, answer in zip(requests, answers, strict=True):
        if answer.get("status", 500) < 400:
            created.append(entity(answer.get("body")))
        else:
            failure = graph_failure(answer.get("status", 500), answer.get("body"))
            failed.append({"index": int(r["id"]), "code": failure.code, "message": failure.message,
                           **{k: v for k, v in failure.details.items() if k == "graph_code"}})
    return {"value": created, "count": len(created), "failed": failed}


@function(
    "calendar.update_event",
    description="Change an event (or one occurrence); an organizer's changes reach the attendees.",
    params=schema({
        "user_id": USER_ID,
        "event_id": ITEM_ID,
        "changes": {"type": "object", "properties": EVENT_PROPERTIES, "minProperties": 1,
                    "additionalProperties": False},
    }, ["user_id", "event_id", "changes"]),
    delegated=WRITE,
    application=APP_WRITE,
    example={"user_id": "me", "event_id": "AAMkAGIAAAoZDOFAAA=", "changes": {"location": {"displayName": "Room 2"}}},
    writes=True,
)
def update_event(call: Call, params: dict[str, Any]) -> Any:
    return entity(call.client.request("PATCH", _event_path(call, params), json=params["changes"]).body)


@function(
    "calendar.delete_event",
    description="Delete an event (an organizer deleting a meeting cancels it for the attendees).",
    params=schema({"user_id": USER_ID, "event_id": ITEM_ID}, ["user_id", "event_id"]),
    delegated=WRITE,
    application=APP_WRITE,
    example={"user_id": "me", "event_id": "AAMkAGIAAAoZDOFAAA="},
    writes=True,
)
def delete_event(call: Call, params: dict[str, Any]) -> Any:
    call.client.request("DELETE", _event_path(call, params))
    return {"event_id": params["event_id"], "deleted": True}


@function(
    "calendar.respond",
    description="Accept, tentatively accept or decline a meeting invitation, optionally with a comment.",
    params=schema({
        "user_id": USER_ID,
        "event_id": ITEM_ID,
        "response": {"type": "string", "enum": ["accept", "tentativelyAccept", "decline"]},
        "comment": {"type": "string", "maxLength": 2000},
        "send_response": {"type": "boolean", "default": True, "description": "Tell the organizer."},
    }, ["user_id", "event_id", "response"]),
    delegated=WRITE,
    application=APP_WRITE,
    example={"user_id": "me", "event_id": "AAMkAGIAAAoZDOFAAA=", "response": "accept", "comment": "See you there"},
    writes=True,
)
def respond(call: Call, params: dict[str, Any]) -> Any:
    body: dict[str, Any] = {"sendResponse": params.get("send_response", True)}
    if params.get("comment"):
        body["comment"] = params["comment"]
    call.client.request("POST", f"{_event_path(call, params)}/{params['response']}", json=body)
    return {"event_id": params["event_id"], "response": params["response"]}


@function(
    "calendar.cancel_event",
    description="Cancel a meeting the user organizes and tell the attendees, optionally with a comment.",
    params=schema({"user_id": USER_ID, "event_id": ITEM_ID, "comment": {"type": "string", "maxLength": 2000}},
                  ["user_id", "event_id"]),
    delegated=WRITE,
    application=APP_WRITE,
    example={"user_id": "me", "event_id": "AAMkAGIAAAoZDOFAAA=", "comment": "Moved to next week."},
    writes=True,
)
def cancel_event(call: Call, params: dict[str, Any]) -> Any:
    body = {"comment": params["comment"]} if params.get("comment") else {}
    call.client.request("POST", f"{_event_path(call, params)}/cancel", json=body)
    return {"event_id": params["event_id"], "cancelled": True}


# -- free/busy ------------------------------------------------------------------------------------


@function(
    "calendar.get_schedule",
    description="Free/busy of people (by email) between start and end, in slots of interval minutes.",
    params=schema({
        "user_id": USER_ID,
        "schedules": {"type": "array", "items": EMAIL, "minItems": 1, "maxItems": 100},
        "start": DATETIME,
        "end": DATETIME,
        "interval": {"type": "integer", "minimum": 5, "maximum": 1440, "default": 30},
        "time_zone": TIME_ZONE,
    }, ["user_id", "schedules", "start", "end"]),
    delegated=SCHEDULE,
    application=APP_READ,
    example={"user_id": "me", "schedules": ["adele@contoso.test", "megan@contoso.test"],
             "start": "2026-12-01T08:00:00", "end": "2026-12-01T17:00:00", "time_zone": "UTC"},
)
def get_schedule(call: Call, params: dict[str, Any]) -> Any:
    _window(params)
    body = {"schedules": params["schedules"], "startTime": _zoned(params["start"], params.get("time_zone")),
            "endTime": _zoned(params["end"], params.get("time_zone")),
            "availabilityViewInterval": params.get("interval", 30)}
    path = call.user_path(params["user_id"]) + "/calendar/getSchedule"
    # A read, though Graph spells it POST: safe to resend.
    answer = call.client.request("POST", path, json=body, headers=_prefer(params), idempotent=True).body
    value = answer.get("value", [])
    return {"value": value, "count": len(value)}


@function(
    "calendar.find_meeting_times",
    description="Meeting time suggestions for the user and attendees within a time window.",
    params=schema({
        "user_id": USER_ID,
        "attendees": {"type": "array", "items": EMAIL, "maxItems": 100},
        "optional_attendees": {"type": "array", "items": EMAIL, "maxItems": 100},
        "duration_minutes": {"type": "integer", "minimum": 5, "maximum": 1440, "default": 30},
        "start": DATETIME,
        "end": DATETIME,
        "time_zone": TIME_ZONE,
        "activity_domain": {"type": "string", "enum": ["work", "personal", "unrestricted"], "default": "work"},
        "max_candidates": {"type": "integer", "minimum": 1, "maximum": 100, "default": 10},
        "minimum_attendee_percentage": {"type": "number", "minimum": 0, "maximum": 100},
        "is_organizer_optional": {"type": "boolean"},
    }, ["user_id", "start", "end"]),
    delegated=FIND_TIMES,
    application=APP_READ_FULL,
    example={"user_id": "me", "attendees": ["megan@contoso.test"], "duration_minutes": 60,
             "start": "2026-12-01T09:00:00", "end": "2026-12-03T17:00:00", "time_zone": "UTC", "max_candidates": 5},
)
def find_meeting_times(call: Call, params: dict[str, Any]) -> Any:
    _window(params)
    tz = params.get("time_zone")
    attendees = [{"type": "required", "emailAddress": {"address": a}} for a in params.get("attendees", [])]
    attendees += [{"type": "optional", "emailAddress": {"address": a}} for a in params.get("optional_attendees", [])]
    body: dict[str, Any] = {
        "attendees": attendees,
        "timeConstraint": {"activityDomain": params.get("activity_domain", "work"), "timeSlots": [
            {"start": _zoned(params["start"], tz), "end": _zoned(params["end"], tz)}]},
        "meetingDuration": f"PT{params.get('duration_minutes', 30)}M",
        "maxCandidates": params.get("max_candidates", 10),
        "returnSuggestionReasons": True,
    }
    if "minimum_attendee_percentage" in params:
        body["minimumAttendeePercentage"] = params["minimum_attendee_percentage"]
    if "is_organizer_optional" in params:
        body["isOrganizerOptional"] = params["is_organizer_optional"]
    path = call.user_path(params["user_id"]) + "/findMeetingTimes"
    return entity(call.client.request("POST", path, json=body, headers=_prefer(params), idempotent=True).body)


# -- pass-through ---------------------------------------------------------------------------------

# The navigation properties of a user that hold calendar data (Graph v1.0); everything below them (events'
# instances and attachments, accept / decline / cancel, a calendar's events and permissions) is calendar data too.
CALENDAR_TREES = ("calendar", "calendars", "calendarGroups", "events", "calendarView")
_TREES = {t.lower() for t in CALENDAR_TREES}
_ALLOWED = (f"calendar.request reaches only /me/{{{', '.join(CALENDAR_TREES)}}} and what is below them, and the "
            "same under /users/{id}.")


@function(
    "calendar.request",
    description="Any Graph request under a user's calendar, calendars, calendarGroups, events or calendarView "
                "(method, path, query, body): a raw Graph request (what CodeMash's Microsoft Functions call a "
                "raw request), limited to the calendar. Other paths, even the user itself, are "
                "refused before any call.",
    params=schema({**REQUEST_PARAMS, "path": {
        **REQUEST_PARAMS["path"],
        "description": "/me/... or /users/{id}/... followed by calendar, calendars, calendarGroups, events or "
                       "calendarView, and anything below them (e.g. /me/events/{id}/instances, "
                       "/users/{id}/events/{id}/accept). No query string: use query.",
    }}, ["method", "path"]),
    delegated=READ,
    application=APP_READ,
    example={"method": "GET", "path": "/me/events", "query": {"$select": "subject,start", "$top": 5}},
    writes=True,
)
def request(call: Call, params: dict[str, Any]) -> Any:
    segments = checked_path(call, params["path"])
    root = user_root(segments)
    if not root or len(segments) <= root or segments[root].lower() not in _TREES:
        raise FunctionError("ValidationError", f"path: {_ALLOWED}", field="path")
    return pass_through(call, params, joined(segments))
