"""Calendars and events: CRUD, calendarView with recurrence expansion, instances, meeting actions.

Events live in ``user["calendars"][i]["events"]`` in the shape Graph returns, with start/end kept
in UTC (``originalStartTimeZone`` remembers what the client sent). Keys starting with ``_`` are
bookkeeping (deleted occurrences, exceptions) and never serialized. A meeting's copies in the
attendees' calendars share its ``iCalUId``; that is how responses and updates find each other.
"""

from __future__ import annotations

import html
import re
import uuid
from copy import deepcopy
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from emulator.graph import odata, recurrence
from emulator.graph.api import GraphError, body_json, graph_route, no_content, ok
from emulator.graph.auth import (
    CAL_OTHER_READ,
    CAL_OTHER_WRITE,
    CAL_OWN_READ,
    CAL_OWN_WRITE,
    MAILBOX_DENIED,
    Caller,
    Permission,
)
from emulator.graph.timezones import iso, preferred_zone, stamp, stored, to_utc
from emulator.graph.users import me_only_delegated

if TYPE_CHECKING:
    from emulator.app import Emulator
    from emulator.routing import Request, Response

ICAL_PREFIX = "040000008200E00074C5B7101A82E008"
OCCURRENCE_SEP = "_"  # occurrence id = master id + "_" + original start (UTC, compact)
NULL_TIME = "0001-01-01T00:00:00Z"

EVENT_DEFAULTS: dict[str, Any] = {
    "categories": [], "hasAttachments": False, "isReminderOn": True, "reminderMinutesBeforeStart": 15,
    "responseRequested": True, "allowNewTimeProposals": True, "isDraft": False, "hideAttendees": False,
    "onlineMeeting": None, "onlineMeetingProvider": "unknown", "onlineMeetingUrl": None,
    "originalStartTimeZone": "UTC", "originalEndTimeZone": "UTC", "locations": [], "webLink": None,
    "originalStart": None,
}
EVENT_PROPERTIES = set(EVENT_DEFAULTS) | {
    "id", "iCalUId", "subject", "bodyPreview", "body", "importance", "sensitivity", "isAllDay", "isCancelled",
    "isOrganizer", "isOnlineMeeting", "showAs", "type", "start", "end", "location", "organizer", "attendees",
    "responseStatus", "recurrence", "seriesMasterId", "transactionId", "createdDateTime",
    "lastModifiedDateTime", "changeKey", "cancelledOccurrences",
}
WRITABLE = {"subject", "body", "start", "end", "location", "locations", "attendees", "showAs", "importance",
            "sensitivity", "isAllDay", "categories", "recurrence", "isOnlineMeeting", "reminderMinutesBeforeStart",
            "isReminderOn", "responseRequested", "allowNewTimeProposals", "onlineMeetingProvider", "hideAttendees",
            "transactionId"}
# What an organizer's update carries over to the attendees' copies of the meeting.
SHARED = {"subject", "body", "bodyPreview", "start", "end", "location", "locations", "attendees", "isAllDay",
          "recurrence", "isOnlineMeeting", "importance", "sensitivity", "originalStartTimeZone",
          "originalEndTimeZone", "type"}
SHOW_AS = {"free", "tentative", "busy", "oof", "workingElsewhere", "unknown"}
EVENT_FILTER = {"subject", "start/dateTime", "end/dateTime", "type", "isAllDay", "isCancelled", "showAs",
                "importance", "sensitivity", "iCalUId", "transactionId", "organizer/emailAddress/address",
                "organizer/emailAddress/name", "createdDateTime", "lastModifiedDateTime", "isOrganizer",
                "responseStatus/response", "seriesMasterId", "id"}
EVENT_ORDER = {"start/dateTime", "end/dateTime", "subject", "createdDateTime", "lastModifiedDateTime"}


def _both(path: str) -> tuple[str, str]:
    return "/me" + path, "/users/{id}" + path


_EVENT_PATHS = (*_both("/events/{eid}"), *_both("/calendars/{cid}/events/{eid}"), *_both("/calendar/events/{eid}"))


def item_not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


# -- access -------------------------------------------------------------------------------------


def mailbox(emu: Emulator, req: Request, caller: Caller, write: bool) -> dict[str, Any]:
    """The mailbox owner a path names, after the calendar permission check.

    Own calendar: Calendars.Read / ReadWrite (delegated). Someone else's: the Shared scopes
    (delegated) or Calendars.Read / ReadWrite app roles. Permission is checked before existence.
    """
    key = req.params.get("id")
    if key is None and caller.user is None:
        raise me_only_delegated()
    own = key is None or (caller.user is not None and key.lower() in (
        caller.user["id"], caller.user["userPrincipalName"].lower(), str(caller.user.get("mail") or "").lower()))
    needed: Permission = (CAL_OWN_WRITE if write else CAL_OWN_READ) if own else (
        CAL_OTHER_WRITE if write else CAL_OTHER_READ)
    return mailbox_owner(emu, req, caller, needed)


def mailbox_owner(emu: Emulator, req: Request, caller: Caller, permission: Permission) -> dict[str, Any]:
    """The user a ``/users/{id}/…`` (or ``/me/…``) path names, once ``permission`` is checked."""
    key = req.params.get("id")
    if key is None and caller.user is None:
        raise me_only_delegated()
    caller.require(permission, MAILBOX_DENIED)
    if key is None:
        return caller.user  # type: ignore[return-value]
    owner = emu.user(caller.tenant, key) or _by_address(caller.tenant, key)
    if owner is None:
        raise GraphError(404, "ErrorInvalidUser", f"The requested user '{key}' is invalid.")
    return owner


def _by_address(tenant: dict[str, Any], address: str) -> dict[str, Any] | None:
    address = address.lower()
    for u in tenant["users"]:
        if str(u.get("mail") or "").lower() == address or u["userPrincipalName"].lower() == address:
            return u
    return None


# -- calendars ----------------------------------------------------------------------------------


def new_calendar(owner: dict[str, Any], name: str, *, default: bool = False, color: str = "auto") -> dict[str, Any]:
    return {"id": "AAMkAGC" + uuid.uuid4().hex, "name": name, "color": color, "hexColor": "",
            "isDefaultCalendar": default, "canShare": True, "canViewPrivateItems": True, "canEdit": True,
            "isRemovable": not default,
            "owner": {"name": owner.get("displayName"), "address": owner.get("mail") or owner["userPrincipalName"]},
            "events": []}


def calendar_view(c: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in c.items() if k != "events" and not k.startswith("_")}
    out.setdefault("changeKey", "fJKVL07sbkmIfHqjbDnRgQAAAAACCQ==")
    out["allowedOnlineMeetingProviders"] = ["teamsForBusiness"]
    out["defaultOnlineMeetingProvider"] = "teamsForBusiness"
    out["isTallyingResponses"] = True
    return out


def default_calendar(owner: dict[str, Any]) -> dict[str, Any]:
    for c in owner["calendars"]:
        if c.get("isDefaultCalendar"):
            return c
    if not owner["calendars"]:
        owner["calendars"].append(new_calendar(owner, "Calendar", default=True))
    return owner["calendars"][0]


def find_calendar(owner: dict[str, Any], cid: str) -> dict[str, Any]:
    for c in owner["calendars"]:
        if c["id"] == cid:
            return c
    raise item_not_found()


def _scope_calendar(req: Request, owner: dict[str, Any]) -> dict[str, Any]:
    cid = req.params.get("cid")
    return find_calendar(owner, cid) if cid else default_calendar(owner)


@graph_route("GET", *_both("/calendars"))
def list_calendars(emu: Emulator, req: Request, caller: Caller) -> Response:
    owner = mailbox(emu, req, caller, write=False)
    top = odata.parse_top(req, 10, 1000, "ErrorInvalidUrlQuery")
    items = [calendar_view(c) for c in owner["calendars"]]
    chunk, link = odata.page_by_skip(emu, req, items, top)
    body: dict[str, Any] = {"@odata.context": odata.context(f"users('{owner['userPrincipalName']}')/calendars")}
    if link:
        body["@odata.nextLink"] = link
    body["value"] = chunk
    return ok(req, body)


@graph_route("GET", *_both("/calendar"), *_both("/calendars/{cid}"))
def get_calendar(emu: Emulator, req: Request, caller: Caller) -> Response:
    owner = mailbox(emu, req, caller, write=False)
    c = _scope_calendar(req, owner)
    return ok(req, {"@odata.context": odata.context(f"users('{owner['userPrincipalName']}')/calendars/$entity"),
                    **calendar_view(c)})


@graph_route("POST", *_both("/calendars"))
def create_calendar(emu: Emulator, req: Request, caller: Caller) -> Response:
    owner = mailbox(emu, req, caller, write=True)
    body = body_json(req)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise GraphError(400, "ErrorInvalidParameter", "The calendar name must be specified.")
    if any(c["name"].lower() == name.strip().lower() for c in owner["calendars"]):
        raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
    c = new_calendar(owner, name.strip(), color=str(body.get("color") or "auto"))
    owner["calendars"].append(c)
    return ok(req, {"@odata.context": odata.context(f"users('{owner['userPrincipalName']}')/calendars/$entity"),
                    **calendar_view(c)}, 201)


@graph_route("PATCH", *_both("/calendar"), *_both("/calendars/{cid}"))
def update_calendar(emu: Emulator, req: Request, caller: Caller) -> Response:
    owner = mailbox(emu, req, caller, write=True)
    c = _scope_calendar(req, owner)
    body = body_json(req)
    for key in body:
        if key not in ("name", "color"):
            raise GraphError(400, "ErrorInvalidPropertyForOperation", f"The property '{key}' cannot be updated.")
    if "name" in body:
        name = str(body["name"]).strip()
        if not name:
            raise GraphError(400, "ErrorInvalidParameter", "The calendar name must be specified.")
        if any(o is not c and o["name"].lower() == name.lower() for o in owner["calendars"]):
            raise GraphError(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        c["name"] = name
    if "color" in body:
        c["color"] = str(body["color"])
    return ok(req, {"@odata.context": odata.context(f"users('{owner['userPrincipalName']}')/calendars/$entity"),
                    **calendar_view(c)})


@graph_route("DELETE", *_both("/calendars/{cid}"))
def delete_calendar(emu: Emulator, req: Request, caller: Caller) -> Response:
    owner = mailbox(emu, req, caller, write=True)
    c = find_calendar(owner, req.params["cid"])
    if c.get("isDefaultCalendar"):
        raise GraphError(400, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted.")
    owner["calendars"] = [o for o in owner["calendars"] if o is not c]
    return no_content(req)


# -- events: lookup and serialization -------------------------------------------------------------


def occurrence_key(start: datetime) -> str:
    return start.astimezone(UTC).strftime("%Y%m%dT%H%M%S")


def find_event(owner: dict[str, Any], eid: str) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """(calendar, event, occurrence key or None) for an event or occurrence id in the mailbox."""
    master_id, _, key = eid.partition(OCCURRENCE_SEP)
    for c in owner["calendars"]:
        for ev in c["events"]:
            if ev["id"] == master_id:
                if key and ev.get("type") != "seriesMaster":
                    raise item_not_found()
                return c, ev, key or None
    raise item_not_found()


def _occurrence(master: dict[str, Any], start: datetime, end: datetime) -> dict[str, Any] | None:
    key = occurrence_key(start)
    if key in master.get("_deleted", ()):
        return None
    occ = {k: v for k, v in master.items() if not k.startswith("_")}
    occ.update({"id": master["id"] + OCCURRENCE_SEP + key, "type": "occurrence", "seriesMasterId": master["id"],
                "recurrence": None, "start": stamp(start), "end": stamp(end), "originalStart": iso(start)})
    exception = master.get("_exceptions", {}).get(key)
    if exception:
        occ.update(exception)
        occ["type"] = "exception"
    return occ


def instance_by_key(master: dict[str, Any], key: str) -> dict[str, Any]:
    try:
        start = datetime.strptime(key, "%Y%m%dT%H%M%S").replace(tzinfo=UTC)
    except ValueError as exc:
        raise item_not_found() from exc
    tick = timedelta(seconds=1)
    for s, e in recurrence.occurrences(master, start - tick, start + tick):
        if occurrence_key(s) == key:
            occ = _occurrence(master, s, e)
            if occ is not None:
                return occ
    raise item_not_found()


def expand(events: list[dict[str, Any]], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Single events, occurrences and exceptions overlapping [start, end), ordered by start."""
    out: list[tuple[datetime, dict[str, Any]]] = []
    for ev in events:
        if ev.get("type") == "seriesMaster" and ev.get("recurrence"):
            seen: set[str] = set()
            series: list[dict[str, Any]] = []
            for s, e in recurrence.occurrences(ev, start, end):
                seen.add(occurrence_key(s))
                occ = _occurrence(ev, s, e)
                if occ is not None:
                    series.append(occ)
            # Exceptions may have moved an occurrence into or out of the window.
            for key in ev.get("_exceptions", {}).keys() - seen:
                if key not in ev.get("_deleted", ()):
                    series.append(instance_by_key(ev, key))
            out += [(stored(occ["start"]), occ) for occ in series
                    if stored(occ["start"]) < end and stored(occ["end"]) > start]
        else:
            s, e = stored(ev["start"]), stored(ev["end"])
            if s < end and (e > start or (s == e and s >= start)):
                out.append((s, ev))
    out.sort(key=lambda pair: pair[0])
    return [ev for _, ev in out]


def event_view(ev: dict[str, Any], select: list[str] | None, tz: str | None,
               body_type: str = "html") -> dict[str, Any]:
    full = {**EVENT_DEFAULTS, **{k: v for k, v in ev.items() if not k.startswith("_")}}
    full["@odata.etag"] = f'W/"{full.get("changeKey") or "DwAAABYAAAA"}"'
    if isinstance(full.get("body"), dict):
        full["body"] = body_as(full["body"], body_type)
    full["location"] = location_view(full.get("location"))
    full["locations"] = [location_view(loc) for loc in full.get("locations") or []]
    if not full["locations"] and full["location"]["displayName"]:
        full["locations"] = [full["location"]]
    if tz:
        for prop in ("start", "end"):
            if isinstance(full.get(prop), dict):
                full[prop] = stamp(stored(full[prop]), tz)
    if select is None:
        return full
    if "cancelledOccurrences" in select:
        # v1.0 names a series' deleted occurrences only when asked ($select); occurrenceId is beta.
        full["cancelledOccurrences"] = [
            f"OID.{ev['id']}.{datetime.strptime(key, '%Y%m%dT%H%M%S').strftime('%Y-%m-%d')}"
            for key in ev.get("_deleted", ())] if ev.get("type") == "seriesMaster" else []
    return odata.project(full, select, always=("@odata.etag", "id"))


@dataclass
class Preferences:
    """What the ``Prefer`` header asks of an event answer, and the ``Preference-Applied`` it earns."""

    tz: str | None
    body_type: str  # "html" unless outlook.body-content-type="text" was asked for
    headers: dict[str, str]


_PREFER_BODY = re.compile(r'outlook\.body-content-type\s*=\s*"?(text|html)"?', re.IGNORECASE)


def location_view(loc: Any) -> dict[str, Any]:
    """A location as Outlook returns it: a named place is a private, default-type location whose
    uniqueId is its name; no place at all still has a type, empty address and coordinates."""
    loc = dict(loc) if isinstance(loc, dict) else {}
    name = str(loc.get("displayName") or "")
    if not name and not loc.get("uniqueId"):
        return {"displayName": "", "locationType": "default", "uniqueIdType": "unknown", "address": {},
                "coordinates": {}, **{k: v for k, v in loc.items() if k not in ("displayName",)}}
    return {"displayName": name, "locationType": loc.get("locationType") or "default",
            "uniqueId": loc.get("uniqueId") or name, "uniqueIdType": loc.get("uniqueIdType") or "private",
            **{k: v for k, v in loc.items() if k not in ("displayName", "locationType", "uniqueId", "uniqueIdType")}}


def _prefer(req: Request) -> Preferences:
    prefer = req.headers.get("prefer")
    tz = preferred_zone(prefer)
    m = _PREFER_BODY.search(prefer or "")
    applied = [f'outlook.timezone="{tz}"'] if tz else []
    if m:
        applied.append(f'outlook.body-content-type="{m.group(1).lower()}"')
    return Preferences(tz, m.group(1).lower() if m else "html",
                       {"Preference-Applied": ", ".join(applied)} if applied else {})


def _event_rules() -> odata.FilterRules:
    return odata.FilterRules(
        properties=EVENT_FILTER, resource="Event", functions={"startswith", "contains"},
        unknown_property=lambda name: GraphError(
            400, "BadRequest", f"Could not find a property named '{name}' on type 'microsoft.graph.event'."))


def _list_events(emu: Emulator, req: Request, owner: dict[str, Any], items: list[dict[str, Any]],
                 fragment: str, order_default: bool) -> Response:
    prefs = _prefer(req)
    select = odata.parse_select(req, EVENT_PROPERTIES, "event")
    predicate = odata.parse_filter(req.query.get("$filter"), _event_rules())
    order = odata.parse_orderby(req, EVENT_ORDER, "BadRequest")
    top = odata.parse_top(req, 10, 1000, "ErrorInvalidUrlQuery")
    if predicate is not None:
        items = [ev for ev in items if predicate(ev)]
    if order:
        items = odata.sort_items(items, order)
    elif order_default:
        items = sorted(items, key=lambda ev: stored(ev["start"]))
    chunk, link = odata.page_by_skip(emu, req, items, top)
    ctx = odata.context(f"users('{owner['userPrincipalName']}')/{fragment}", select)
    body: dict[str, Any] = {"@odata.context": ctx}
    if odata.want_count(req):  # Outlook counts without the directory's ConsistencyLevel rule
        body["@odata.count"] = len(items)
    if link:
        body["@odata.nextLink"] = link
    body["value"] = [event_view(ev, select, prefs.tz, prefs.body_type) for ev in chunk]
    return ok(req, body, headers=prefs.headers)


# -- events: read ---------------------------------------------------------------------------------


@graph_route("GET", *_both("/events"), *_both("/calendar/events"), *_both("/calendars/{cid}/events"))
def list_events(emu: Emulator, req: Request, caller: Caller) -> Response:
    owner = mailbox(emu, req, caller, write=False)
    c = _scope_calendar(req, owner)
    return _list_events(emu, req, owner, list(c["events"]), "events", order_default=False)


def _window(req: Request) -> tuple[datetime, datetime]:
    q = {k.lower(): v for k, v in req.query.items()}
    if not q.get("startdatetime") or not q.get("enddatetime"):
        raise GraphError(400, "ErrorInvalidParameter",
                         "This request requires a time window specified by the query string parameters "
                         "StartDateTime and EndDateTime.")
    try:
        start = odata.parse_datetime(q["startdatetime"])
        end = odata.parse_datetime(q["enddatetime"])
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidParameter",
                         "The value of the parameter 'StartDateTime' or 'EndDateTime' is not a valid "
                         "date-time.") from exc
    if end <= start:
        raise GraphError(400, "ErrorInvalidParameter",
                         "The parameter 'EndDateTime' must be later than 'StartDateTime'.")
    return start, end


@graph_route("GET", *_both("/calendarView"), *_both("/calendar/calendarView"), *_both("/calendars/{cid}/calendarView"))
def calendar_view_list(emu: Emulator, req: Request, caller: Caller) -> Response:
    owner = mailbox(emu, req, caller, write=False)
    start, end = _window(req)
    c = _scope_calendar(req, owner)
    return _list_events(emu, req, owner, expand(c["events"], start, end), "calendarView", order_default=True)


@graph_route("GET", *_EVENT_PATHS)
def get_event(emu: Emulator, req: Request, caller: Caller) -> Response:
    owner = mailbox(emu, req, caller, write=False)
    _, ev, key = find_event(owner, req.params["eid"])
    if key:
        ev = instance_by_key(ev, key)
    prefs = _prefer(req)
    select = odata.parse_select(req, EVENT_PROPERTIES, "event")
    body = {"@odata.context": odata.context(f"users('{owner['userPrincipalName']}')/events", select) + "/$entity",
            **event_view(ev, select, prefs.tz, prefs.body_type)}
    return ok(req, body, headers=prefs.headers)


@graph_route("GET", *_both("/events/{eid}/instances"))
def list_instances(emu: Emulator, req: Request, caller: Caller) -> Response:
    owner = mailbox(emu, req, caller, write=False)
    start, end = _window(req)
    _, ev, key = find_event(owner, req.params["eid"])
    # Only a series master has instances; asked of anything else the list is empty.
    items = expand([ev], start, end) if not key and ev.get("type") == "seriesMaster" else []
    return _list_events(emu, req, owner, items, f"events('{ev['id']}')/instances", order_default=True)


# -- events: write --------------------------------------------------------------------------------


_TAGS = re.compile(r"<[^>]+>")


_HTML_HEAD = ('<html>\r\n<head>\r\n<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\r\n'
              '</head>\r\n<body>\r\n')
_BREAKS = re.compile(r"<br\s*/?>|</(?:p|div|li|tr|h[1-6])\s*>", re.IGNORECASE)
_HIDDEN = re.compile(r"<(head|style|script)[^>]*>.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def body_as(body: dict[str, Any], content_type: str) -> dict[str, Any]:
    """An itemBody in the format asked for: Outlook keeps one copy and converts on the way out
    (HTML unless ``Prefer: outlook.body-content-type="text"``)."""
    stored_type = str(body.get("contentType", "text")).lower()
    content = str(body.get("content") or "")
    if stored_type == content_type:
        return {"contentType": content_type, "content": content}
    if content_type == "html":
        lines = [html.escape(line, quote=False) for line in content.splitlines()]
        inner = "".join(f"<div>{line or '<br>'}</div>\r\n" for line in lines)
        return {"contentType": "html", "content": f"{_HTML_HEAD}{inner}</body>\r\n</html>\r\n"}
    text = _TAGS.sub("", _BREAKS.sub("\r\n", _HIDDEN.sub("", content)))
    lines = [" ".join(html.unescape(line).split()) for line in text.splitlines()]
    return {"contentType": "text", "content": "\r\n".join(line for line in lines if line)}


def _body_preview(body: Any) -> str:
    content = str(body.get("content") or "") if isinstance(body, dict) else ""
    is_html = isinstance(body, dict) and str(body.get("contentType", "")).lower() == "html"
    text = _TAGS.sub(" ", content) if is_html else content
    return " ".join(text.split())[:255]


def _attendee(a: Any) -> dict[str, Any]:
    if not isinstance(a, dict) or not isinstance(a.get("emailAddress"), dict) or not a["emailAddress"].get("address"):
        raise GraphError(400, "ErrorInvalidRequest", "Each attendee needs an emailAddress with an address.")
    kind = a.get("type", "required")
    if kind not in ("required", "optional", "resource"):
        raise GraphError(400, "ErrorInvalidRequest", f"Invalid attendee type '{kind}'.")
    address = a["emailAddress"]["address"]
    email = {"name": a["emailAddress"].get("name") or address, "address": address}
    return {"type": kind, "status": a.get("status") or {"response": "none", "time": NULL_TIME}, "emailAddress": email}


def _apply(emu: Emulator, ev: dict[str, Any], body: dict[str, Any], creating: bool) -> None:
    """Validate ``body`` and write it into ``ev`` (start/end normalised to UTC)."""
    for key in body:
        if key.startswith("@odata"):
            continue
        if key not in EVENT_PROPERTIES:
            raise GraphError(400, "RequestBodyRead",
                             f"The property '{key}' does not exist on type 'microsoft.graph.event'. Make sure to "
                             "only use property names that are defined by the type or mark the type as open type.")
        if key not in WRITABLE:
            raise GraphError(400, "ErrorInvalidPropertyForOperation", f"The property '{key}' cannot be set.")
    start = to_utc(body["start"], "start") if "start" in body else (stored(ev["start"]) if "start" in ev else None)
    end = to_utc(body["end"], "end") if "end" in body else (stored(ev["end"]) if "end" in ev else None)
    if start is None or end is None:
        raise GraphError(400, "ErrorInvalidRequest",
                         "Your request can't be completed. The event needs a start and an end.")
    if end < start:
        raise GraphError(400, "ErrorInvalidRequest",
                         "Your request can't be completed. The end time of the event must be after its start time.")
    if "showAs" in body and body["showAs"] not in SHOW_AS:
        raise GraphError(400, "RequestBodyRead", f"Cannot convert the literal '{body['showAs']}' to the expected "
                                                 "type 'microsoft.graph.freeBusyStatus'.")
    if body.get("recurrence") is not None:
        recurrence.validate(body["recurrence"])
    for key in WRITABLE - {"start", "end", "attendees", "location", "body"}:
        if key in body:
            ev[key] = body[key]
    if "start" in body:
        ev["start"] = stamp(start)
        ev["originalStartTimeZone"] = body["start"].get("timeZone") or "UTC"
    if "end" in body:
        ev["end"] = stamp(end)
        ev["originalEndTimeZone"] = body["end"].get("timeZone") or "UTC"
    if "body" in body:
        b = body["body"] if isinstance(body["body"], dict) else {}
        ev["body"] = {"contentType": b.get("contentType", "text"), "content": b.get("content", "")}
        ev["bodyPreview"] = _body_preview(ev["body"])
    if "location" in body:
        loc = body["location"] if isinstance(body["location"], dict) else {}
        ev["location"] = {**loc, "displayName": loc.get("displayName", "")}
    if "attendees" in body:
        if not isinstance(body["attendees"], list):
            raise GraphError(400, "ErrorInvalidRequest", "attendees must be a list.")
        previous = {a["emailAddress"]["address"].lower(): a for a in ev.get("attendees") or []}
        fresh = [_attendee(a) for a in body["attendees"]]
        for a in fresh:  # keep responses already received from attendees who stay
            old = previous.get(a["emailAddress"]["address"].lower())
            if old is not None:
                a["status"] = old["status"]
        ev["attendees"] = fresh
    if "recurrence" in body:
        ev["type"] = "seriesMaster" if body["recurrence"] else "singleInstance"
    ev["lastModifiedDateTime"] = iso(datetime.fromtimestamp(emu.now(), UTC))
    ev["changeKey"] = uuid.uuid4().hex[:20]


def _find_by_ical(owner: dict[str, Any], ical: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    for c in owner["calendars"]:
        for ev in c["events"]:
            if ev.get("iCalUId") == ical:
                return c, ev
    return None


def _invite(tenant: dict[str, Any], organizer: dict[str, Any], ev: dict[str, Any]) -> None:
    """Put a copy of the meeting in each attendee's default calendar (same iCalUId)."""
    for a in ev.get("attendees") or []:
        attendee = _by_address(tenant, a["emailAddress"]["address"])
        if attendee is None or attendee["id"] == organizer["id"] or _find_by_ical(attendee, ev["iCalUId"]):
            continue
        copy = deepcopy({k: v for k, v in ev.items() if not k.startswith("_") and k != "transactionId"})
        copy.update({"id": "AAMkAG" + uuid.uuid4().hex, "isOrganizer": False, "transactionId": None,
                     "responseStatus": {"response": "notResponded", "time": NULL_TIME}})
        default_calendar(attendee)["events"].append(copy)


def _attendee_copies(tenant: dict[str, Any], organizer: dict[str, Any], ev: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for a in ev.get("attendees") or []:
        attendee = _by_address(tenant, a["emailAddress"]["address"])
        if attendee is None or attendee["id"] == organizer["id"]:
            continue
        found = _find_by_ical(attendee, ev["iCalUId"])
        if found:
            out.append(found[1])
    return out


@graph_route("POST", *_both("/events"), *_both("/calendar/events"), *_both("/calendars/{cid}/events"))
def create_event(emu: Emulator, req: Request, caller: Caller) -> Response:
    owner = mailbox(emu, req, caller, write=True)
    c = _scope_calendar(req, owner)
    body = body_json(req)
    context = odata.context(f"users('{owner['userPrincipalName']}')/events") + "/$entity"
    prefs = _prefer(req)
    tx = body.get("transactionId")
    if tx:
        # Graph dedupes creates by transactionId so a client may safely retry a POST.
        for cal in owner["calendars"]:
            for existing in cal["events"]:
                if existing.get("transactionId") == tx:
                    return ok(req, {"@odata.context": context,
                                    **event_view(existing, None, prefs.tz, prefs.body_type)}, 201, prefs.headers)
    now = iso(datetime.fromtimestamp(emu.now(), UTC))
    address = owner.get("mail") or owner["userPrincipalName"]
    ev: dict[str, Any] = {
        "id": "AAMkAG" + uuid.uuid4().hex,
        "iCalUId": ICAL_PREFIX + uuid.uuid4().hex.upper(),
        "subject": "", "bodyPreview": "", "body": {"contentType": "text", "content": ""},
        "importance": "normal", "sensitivity": "normal", "isAllDay": False, "isCancelled": False,
        "isOrganizer": True, "isOnlineMeeting": False, "showAs": "busy", "type": "singleInstance",
        "location": {"displayName": ""}, "attendees": [],
        "organizer": {"emailAddress": {"name": owner.get("displayName"), "address": address}},
        "responseStatus": {"response": "organizer", "time": NULL_TIME},
        "recurrence": None, "seriesMasterId": None, "transactionId": None,
        "createdDateTime": now, "lastModifiedDateTime": now,
    }
    _apply(emu, ev, body, creating=True)
    c["events"].append(ev)
    _invite(caller.tenant, owner, ev)
    return ok(req, {"@odata.context": context, **event_view(ev, None, prefs.tz, prefs.body_type)}, 201,
              prefs.headers)


@graph_route("PATCH", *_EVENT_PATHS)
def update_event(emu: Emulator, req: Request, caller: Caller) -> Response:
    owner = mailbox(emu, req, caller, write=True)
    _, ev, key = find_event(owner, req.params["eid"])
    body = body_json(req)
    if key:
        # Changing one occurrence turns it into an exception of the series.
        occ = instance_by_key(ev, key)
        changes = dict(ev.get("_exceptions", {}).get(key, {}))
        probe = dict(occ)
        _apply(emu, probe, body, creating=False)
        for k in body:
            if k in WRITABLE:
                changes[k] = probe[k]
        ev.setdefault("_exceptions", {})[key] = changes
        if ev.get("isOrganizer"):
            for copy in _attendee_copies(caller.tenant, owner, ev):
                copy.setdefault("_exceptions", {})[key] = deepcopy({k: v for k, v in changes.items() if k in SHARED})
        result = instance_by_key(ev, key)
    else:
        _apply(emu, ev, body, creating=False)
        if ev.get("isOrganizer"):
            shared = {k: ev[k] for k in SHARED if k in ev}
            for copy in _attendee_copies(caller.tenant, owner, ev):
                copy.update(deepcopy(shared))
            _invite(caller.tenant, owner, ev)
        result = ev
    prefs = _prefer(req)
    context = odata.context(f"users('{owner['userPrincipalName']}')/events") + "/$entity"
    return ok(req, {"@odata.context": context, **event_view(result, None, prefs.tz, prefs.body_type)},
              headers=prefs.headers)


def _cancel_for_attendees(tenant: dict[str, Any], owner: dict[str, Any], ev: dict[str, Any], key: str | None) -> None:
    for copy in _attendee_copies(tenant, owner, ev):
        if key:
            copy.setdefault("_deleted", []).append(key)
        else:
            copy["isCancelled"] = True
            if not str(copy.get("subject", "")).startswith("Canceled: "):
                copy["subject"] = "Canceled: " + str(copy.get("subject", ""))


def _remove(owner: dict[str, Any], cal: dict[str, Any], ev: dict[str, Any], key: str | None) -> None:
    if key:
        if key not in ev.setdefault("_deleted", []):
            ev["_deleted"].append(key)
    else:
        cal["events"] = [e for e in cal["events"] if e is not ev]


@graph_route("DELETE", *_EVENT_PATHS)
def delete_event(emu: Emulator, req: Request, caller: Caller) -> Response:
    owner = mailbox(emu, req, caller, write=True)
    cal, ev, key = find_event(owner, req.params["eid"])
    if key:
        instance_by_key(ev, key)  # 404 for an id that is not an occurrence of the series
    if ev.get("isOrganizer") and not ev.get("isCancelled"):
        # An organizer deleting a meeting cancels it for the attendees, as Outlook does.
        _cancel_for_attendees(caller.tenant, owner, ev, key)
    _remove(owner, cal, ev, key)
    return no_content(req)


# -- meeting actions ------------------------------------------------------------------------------

_RESPONSES = {"accept": "accepted", "tentativelyAccept": "tentativelyAccepted", "decline": "declined"}


def _respond(emu: Emulator, req: Request, caller: Caller, action: str) -> Response:
    owner = mailbox(emu, req, caller, write=True)
    _, ev, _key = find_event(owner, req.params["eid"])
    body = body_json(req)
    if ev.get("isOrganizer"):
        raise GraphError(400, "ErrorInvalidRequest",
                         "Your request can't be completed. You can't respond to this meeting because you're the "
                         "meeting organizer.")
    if ev.get("isCancelled"):
        raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. The meeting has been canceled.")
    now = iso(datetime.fromtimestamp(emu.now(), UTC))
    response = _RESPONSES[action]
    ev["responseStatus"] = {"response": response, "time": now}
    if body.get("sendResponse", True) is not False:
        organizer = _by_address(caller.tenant, ev["organizer"]["emailAddress"]["address"])
        found = _find_by_ical(organizer, ev["iCalUId"]) if organizer else None
        me = {str(owner.get("mail") or "").lower(), owner["userPrincipalName"].lower()}
        if found:
            for a in found[1].get("attendees") or []:
                if a["emailAddress"]["address"].lower() in me:
                    a["status"] = {"response": response, "time": now}
    return no_content(req, 202)


@graph_route("POST", *_both("/events/{eid}/accept"))
def accept(emu: Emulator, req: Request, caller: Caller) -> Response:
    return _respond(emu, req, caller, "accept")


@graph_route("POST", *_both("/events/{eid}/tentativelyAccept"))
def tentatively_accept(emu: Emulator, req: Request, caller: Caller) -> Response:
    return _respond(emu, req, caller, "tentativelyAccept")


@graph_route("POST", *_both("/events/{eid}/decline"))
def decline(emu: Emulator, req: Request, caller: Caller) -> Response:
    return _respond(emu, req, caller, "decline")


@graph_route("POST", *_both("/events/{eid}/cancel"))
def cancel(emu: Emulator, req: Request, caller: Caller) -> Response:
    owner = mailbox(emu, req, caller, write=True)
    cal, ev, key = find_event(owner, req.params["eid"])
    body_json(req)
    if not ev.get("isOrganizer"):
        raise GraphError(400, "ErrorAccessDenied",
                         "Your request can't be completed. Only the meeting organizer can cancel the meeting.")
    if key:
        instance_by_key(ev, key)
    _cancel_for_attendees(caller.tenant, owner, ev, key)
    _remove(owner, cal, ev, key)
    return no_content(req, 202)


def busy_items(owner: dict[str, Any], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """What free/busy sees in the default calendar: no cancelled, declined or free items."""
    out = []
    for ev in expand(default_calendar(owner)["events"], start, end):
        response = (ev.get("responseStatus") or {}).get("response")
        if ev.get("isCancelled") or response == "declined" or ev.get("showAs") == "free":
            continue
        out.append(ev)
    return out

