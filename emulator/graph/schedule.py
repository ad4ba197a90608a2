"""Free/busy: ``calendar/getSchedule`` and ``findMeetingTimes`` over the seeded calendars.

Both read each person's default calendar through ``busy_items`` (occurrences expanded, cancelled,
declined and free items ignored). Unanswered invitations count as tentative, as Outlook shows them.
Working hours are 08:00-17:00 UTC, Monday to Friday, for everyone.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from emulator.graph import odata
from emulator.graph.api import GraphError, body_json, graph_route, ok
from emulator.graph.auth import FIND_MEETING_TIMES, SCHEDULE_READ, Caller
from emulator.graph.calendar import _by_address, busy_items, mailbox_owner
from emulator.graph.timezones import preferred_zone, stamp, stored, to_utc

if TYPE_CHECKING:
    from emulator.app import Emulator
    from emulator.routing import Request, Response

CODES = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingElsewhere": "4"}
# Which status wins when several items cover one slot.
RANK = {"free": 0, "workingElsewhere": 1, "tentative": 2, "busy": 3, "oof": 4}
WORK_START, WORK_END = time(8, 0), time(17, 0)
WORK_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]
MAX_WINDOW = timedelta(days=62)


_owner = mailbox_owner


def status_of(ev: dict[str, Any]) -> str:
    show = ev.get("showAs") or "busy"
    response = (ev.get("responseStatus") or {}).get("response")
    if show == "busy" and response in ("notResponded", "none", "tentativelyAccepted"):
        return "tentative"
    return show if show in CODES else "busy"


def action_parameters(body: dict[str, Any]) -> dict[str, Any]:
    """An action's parameters keyed by lower-case name.

    Graph's metadata spells getSchedule's parameters ``Schedules``, ``StartTime``, …, which is what
    the generated SDKs send; the documentation's examples use camelCase. Graph accepts both.
    """
    return {k.lower(): v for k, v in body.items()}


def _worst(statuses: list[str]) -> str:
    return max(statuses, key=lambda s: RANK.get(s, 3), default="free")


@graph_route("POST", "/me/calendar/getSchedule", "/users/{id}/calendar/getSchedule")
def get_schedule(emu: Emulator, req: Request, caller: Caller) -> Response:
    _owner(emu, req, caller, SCHEDULE_READ)
    body = action_parameters(body_json(req))
    schedules = body.get("schedules")
    if not isinstance(schedules, list) or not schedules or not all(isinstance(s, str) for s in schedules):
        raise GraphError(400, "ErrorInvalidParameter",
                         "The parameter 'schedules' must be a non-empty list of SMTP addresses.")
    if len(schedules) > 100:
        raise GraphError(400, "ErrorInvalidParameter", "The number of schedules requested exceeds the limit of 100.")
    if "starttime" not in body or "endtime" not in body:
        raise GraphError(400, "ErrorInvalidParameter", "The parameters 'startTime' and 'endTime' are required.")
    start, end = to_utc(body["starttime"], "startTime"), to_utc(body["endtime"], "endTime")
    if end <= start:
        raise GraphError(400, "ErrorInvalidParameter", "The parameter 'endTime' must be later than 'startTime'.")
    if end - start > MAX_WINDOW:
        raise GraphError(400, "ErrorInvalidParameter", "The requested time window exceeds the maximum of 62 days.")
    interval = body.get("availabilityviewinterval", 30)
    if not isinstance(interval, int) or not 5 <= interval <= 1440:
        raise GraphError(400, "ErrorInvalidParameter", "availabilityViewInterval must be between 5 and 1440 minutes.")
    tz = preferred_zone(req.headers.get("prefer")) or body["starttime"].get("timeZone") or "UTC"
    step = timedelta(minutes=interval)
    slots = math.ceil((end - start) / step)
    value = []
    for sid in schedules:
        user = _by_address(caller.tenant, sid)
        if user is None:
            value.append({"scheduleId": sid, "availabilityView": "", "scheduleItems": [],
                          "error": {"message": f"The requested user '{sid}' is invalid.",
                                    "responseCode": "ErrorInvalidUser"}})
            continue
        view = [0] * slots  # rank per slot
        statuses = ["free"] * slots
        items = []
        for ev in busy_items(user, start, end):
            s, e = stored(ev["start"]), stored(ev["end"])
            status = status_of(ev)
            # v1.0's scheduleItem; isMeeting, isRecurring, isException and isReminderSet are beta only.
            items.append({"isPrivate": ev.get("sensitivity") == "private", "status": status,
                          "subject": ev.get("subject"), "location": (ev.get("location") or {}).get("displayName", ""),
                          "start": stamp(s, tz), "end": stamp(e, tz)})
            first = max(0, int((s - start) // step))
            last = min(slots, math.ceil((e - start) / step))
            for i in range(first, last):
                if RANK[status] > view[i]:
                    view[i], statuses[i] = RANK[status], status
        value.append({
            "scheduleId": sid,
            "availabilityView": "".join(CODES[s] for s in statuses),
            "scheduleItems": items,
            "workingHours": {"daysOfWeek": WORK_DAYS, "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                             "timeZone": {"name": "UTC"}},
        })
    return ok(req, {"@odata.context": odata.context("Collection(microsoft.graph.scheduleInformation)"), "value": value})


_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")


def parse_duration(text: Any) -> timedelta:
    m = _DURATION.match(str(text)) if isinstance(text, str) else None
    if not m or not any(m.groups()):
        raise GraphError(400, "RequestBodyRead",
                         f"Cannot convert the literal '{text}' to the expected type 'Edm.Duration'.")
    d, h, mi, s = (int(g or 0) for g in m.groups())
    duration = timedelta(days=d, hours=h, minutes=mi, seconds=s)
    if duration <= timedelta(0):
        raise GraphError(400, "ErrorInvalidParameter", "meetingDuration must be positive.")
    return duration


def _in_domain(start: datetime, end: datetime, domain: str) -> bool:
    if domain == "unrestricted":
        return True
    working = (start.weekday() < 5 and start.date() == end.date() and start.time() >= WORK_START
               and end.time() <= WORK_END)
    if domain == "work":
        return working
    # personal: outside working hours
    return start.weekday() >= 5 or end.time() <= WORK_START or start.time() >= WORK_END


def _availability(items: list[tuple[datetime, datetime, str]], start: datetime, end: datetime) -> str:
    return _worst([status for s, e, status in items if s < end and e > start])


_SCORE = {"free": 1.0, "workingElsewhere": 1.0, "tentative": 0.5, "unknown": 0.5, "busy": 0.0, "oof": 0.0}


@graph_route("POST", "/me/findMeetingTimes", "/users/{id}/findMeetingTimes")
def find_meeting_times(emu: Emulator, req: Request, caller: Caller) -> Response:
    organizer = _owner(emu, req, caller, FIND_MEETING_TIMES)
    body = body_json(req)
    duration = parse_duration(body.get("meetingDuration", "PT30M"))
    max_candidates = body.get("maxCandidates", 10)
    if not isinstance(max_candidates, int) or max_candidates < 1:
        raise GraphError(400, "ErrorInvalidParameter", "maxCandidates must be a positive integer.")
    minimum = float(body.get("minimumAttendeePercentage", 50))
    organizer_optional = bool(body.get("isOrganizerOptional", False))
    constraint = body.get("timeConstraint") or {}
    domain = constraint.get("activityDomain", "work")
    if domain not in ("work", "personal", "unrestricted", "unknown"):
        raise GraphError(400, "ErrorInvalidParameter", f"Invalid activityDomain '{domain}'.")
    domain = "work" if domain == "unknown" else domain
    now = datetime.fromtimestamp(emu.now(), UTC)
    slots_in = constraint.get("timeSlots") or []
    windows: list[tuple[datetime, datetime]] = []
    for slot in slots_in:
        if not isinstance(slot, dict):
            raise GraphError(400, "ErrorInvalidParameter", "Each timeSlot needs a start and an end.")
        s, e = to_utc(slot.get("start"), "start"), to_utc(slot.get("end"), "end")
        if e <= s:
            raise GraphError(400, "ErrorInvalidParameter", "A timeSlot must end after it starts.")
        windows.append((s, e))
    if not windows:
        begin = now.replace(second=0, microsecond=0)
        windows = [(begin, begin + timedelta(days=2))]
    tz = preferred_zone(req.headers.get("prefer")) or "UTC"

    attendees = [a for a in body.get("attendees") or [] if isinstance(a, dict)]
    span_start, span_end = min(w[0] for w in windows), max(w[1] for w in windows)

    def calendar_items(user: dict[str, Any]) -> list[tuple[datetime, datetime, str]]:
        return [(stored(ev["start"]), stored(ev["end"]), status_of(ev))
                for ev in busy_items(user, span_start, span_end)]

    organizer_items = calendar_items(organizer)
    people: list[tuple[dict[str, Any], list[tuple[datetime, datetime, str]] | None]] = []
    for a in attendees:
        address = ((a.get("emailAddress") or {}).get("address")) or ""
        user = _by_address(caller.tenant, address)
        entry = {"type": a.get("type", "required"), "emailAddress": {"address": address, **(
            {"name": a["emailAddress"]["name"]} if a.get("emailAddress", {}).get("name") else {})}}
        if user is None:
            people.append((entry, None))  # outside the tenant: free/busy unknown
        else:
            people.append((entry, organizer_items if user["id"] == organizer["id"] else calendar_items(user)))

    half_hour = timedelta(minutes=30)
    candidates: list[dict[str, Any]] = []
    saw_slot = saw_organizer_free = False
    any_unknown = any(items is None for _, items in people)
    for w_start, w_end in windows:
        t = w_start + (-(w_start - datetime(2000, 1, 1, tzinfo=UTC)) % half_hour)  # align to :00/:30
        while t + duration <= w_end and len(candidates) < 2000:
            end = t + duration
            if _in_domain(t, end, domain):
                saw_slot = True
                org_status = _availability(organizer_items, t, end)
                organizer_free = org_status in ("free", "workingElsewhere")
                saw_organizer_free = saw_organizer_free or organizer_free
                availability = []
                scores = [] if organizer_optional else [_SCORE.get(org_status, 0.0)]
                free_count = 0
                for entry, items in people:
                    status = "unknown" if items is None else _availability(items, t, end)
                    availability.append({"attendee": entry, "availability": status})
                    if entry["type"] != "optional":
                        scores.append(_SCORE.get(status, 0.0))
                    free_count += status in ("free", "workingElsewhere")
                percent = 100.0 * free_count / len(people) if people else 100.0
                if (organizer_free or organizer_optional) and percent >= minimum:
                    confidence = round(100.0 * sum(scores) / len(scores), 2) if scores else 100.0
                    reason = ("Suggested because it is one of the nearest times when all attendees are available."
                              if free_count == len(people) else
                              "Suggested because it is one of the nearest times when most attendees are available.")
                    candidates.append({
                        "confidence": confidence,
                        "organizerAvailability": org_status,
                        "suggestionReason": reason if body.get("returnSuggestionReasons") else "",
                        "meetingTimeSlot": {"start": stamp(t, tz), "end": stamp(end, tz)},
                        "attendeeAvailability": availability,
                        "locations": [],
                        "_start": t,
                    })
            t += half_hour
    candidates.sort(key=lambda c: (-c["confidence"], c["_start"]))
    chosen = candidates[:max_candidates]
    for order, c in enumerate(chosen, start=1):  # Graph numbers the suggestions in its ranking
        del c["_start"]
        c["order"] = order
    reason = ""
    if not chosen:
        if not saw_slot:
            reason = "unknown"
        elif not saw_organizer_free and not organizer_optional:
            reason = "organizerUnavailable"
        else:
            reason = "attendeesUnavailableOrUnknown" if any_unknown else "attendeesUnavailable"
    return ok(req, {"@odata.context": odata.context("microsoft.graph.meetingTimeSuggestionsResult"),
                    "emptySuggestionsReason": reason, "meetingTimeSuggestions": chosen})
