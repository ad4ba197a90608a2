"""Graph free/busy: getSchedule's availability view and findMeetingTimes against the seeded calendars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from emulator.server import RunningEmulator
from tests.support.graph import graph_token

CONTOSO = "contoso.test"
SHARED = ("User.Read", "Calendars.ReadWrite", "Calendars.Read.Shared")
FMT = "%Y-%m-%dT%H:%M:%S"


def _token(emulator: RunningEmulator, upn: str | None, scopes: tuple[str, ...] = SHARED, roles: tuple[str, ...] = ()) -> str:
    return graph_token(emulator, upn, scopes, roles)


def _post(http_emulator: requests.Session, emulator: RunningEmulator, path: str, token: str, body: Any) -> requests.Response:
    return http_emulator.post(f"{emulator.base_url}/v1.0{path}", json=body, headers={"Authorization": f"Bearer {token}"})


def _week(emulator: RunningEmulator) -> datetime:
    lee = emulator.emulator.user(emulator.emulator.tenant(CONTOSO), "lee@contoso.test")  # type: ignore[arg-type]
    sync = next(e for e in lee["calendars"][0]["events"] if e["subject"] == "Engineering weekly sync")  # type: ignore[index]
    return datetime.fromisoformat(sync["start"]["dateTime"]).replace(tzinfo=UTC, hour=0)


def _at(dt: datetime) -> dict[str, str]:
    return {"dateTime": dt.strftime(FMT), "timeZone": "UTC"}


def _schedule(http_emulator: requests.Session, emulator: RunningEmulator, token: str, who: list[str], start: datetime,
              end: datetime, interval: int = 30) -> dict[str, dict[str, Any]]:
    resp = _post(http_emulator, emulator, "/me/calendar/getSchedule", token,
                 {"schedules": who, "startTime": _at(start), "endTime": _at(end), "availabilityViewInterval": interval})
    assert resp.status_code == 200, resp.text
    return {s["scheduleId"]: s for s in resp.json()["value"]}


def test_get_schedule_marks_the_weekly_sync_busy_in_the_availability_view(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    monday = _week(emulator)
    got = _schedule(http_emulator, emulator, _token(emulator, "lee@contoso.test"), ["lee@contoso.test"], monday + timedelta(hours=8),
                    monday + timedelta(hours=12))
    lee = got["lee@contoso.test"]
    assert lee["availabilityView"] == "00200000"
    assert [(i["subject"], i["status"]) for i in lee["scheduleItems"]] == [("Engineering weekly sync", "busy")]
    assert "isRecurring" not in lee["scheduleItems"][0]  # beta only
    assert lee["workingHours"]["startTime"] == "08:00:00.0000000"


def test_get_schedule_shows_unanswered_invitations_as_tentative_until_accepted(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    wednesday = _week(emulator) + timedelta(days=2)
    token = _token(emulator, "lee@contoso.test")
    who = ["lee@contoso.test", "adele@contoso.test", "ghost@contoso.test"]
    got = _schedule(http_emulator, emulator, token, who, wednesday + timedelta(hours=13), wednesday + timedelta(hours=16))
    assert got["lee@contoso.test"]["availabilityView"] == "001110"
    assert got["adele@contoso.test"]["availabilityView"] == "002220"
    assert got["ghost@contoso.test"]["error"]["responseCode"] == "ErrorInvalidUser"
    planning = next(e for e in http_emulator.get(f"{emulator.base_url}/v1.0/me/events", headers={"Authorization": f"Bearer {token}"}).json()["value"]
                    if e["subject"] == "Quarterly planning")
    assert _post(http_emulator, emulator, f"/me/events/{planning['id']}/accept", token, {"sendResponse": True}).status_code == 202
    again = _schedule(http_emulator, emulator, token, ["lee@contoso.test"], wednesday + timedelta(hours=13), wednesday + timedelta(hours=16))
    assert again["lee@contoso.test"]["availabilityView"] == "002220"


def test_get_schedule_reads_the_parameter_names_as_graphs_metadata_spells_them(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    # msgraph-sdk serialises the action's parameters as the CSDL names them: PascalCase.
    monday = _week(emulator)
    resp = _post(http_emulator, emulator, "/me/calendar/getSchedule", _token(emulator, "lee@contoso.test"),
                 {"Schedules": ["lee@contoso.test"], "StartTime": _at(monday + timedelta(hours=8)),
                  "EndTime": _at(monday + timedelta(hours=12)), "AvailabilityViewInterval": 60})
    assert resp.status_code == 200, resp.text
    assert resp.json()["value"][0]["availabilityView"] == "0200"


def test_get_schedule_uses_the_interval_and_validates_its_input(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    monday = _week(emulator)
    token = _token(emulator, "lee@contoso.test")
    hourly = _schedule(http_emulator, emulator, token, ["lee@contoso.test"], monday, monday + timedelta(days=1), interval=60)
    assert hourly["lee@contoso.test"]["availabilityView"] == "0" * 9 + "2" + "0" * 14
    bad = _post(http_emulator, emulator, "/me/calendar/getSchedule", token, {"schedules": [], "startTime": _at(monday), "endTime": _at(monday)})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "ErrorInvalidParameter"
    tiny = _post(http_emulator, emulator, "/me/calendar/getSchedule", token, {"schedules": ["lee@contoso.test"], "startTime": _at(monday),
                                                                 "endTime": _at(monday + timedelta(hours=1)),
                                                                 "availabilityViewInterval": 2})
    assert tiny.status_code == 400


def test_get_schedule_needs_a_calendar_permission(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    monday = _week(emulator)
    body = {"schedules": ["lee@contoso.test"], "startTime": _at(monday), "endTime": _at(monday + timedelta(hours=1))}
    denied = _post(http_emulator, emulator, "/me/calendar/getSchedule", _token(emulator, "lee@contoso.test", ("User.Read",)), body)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "ErrorAccessDenied"
    app = _post(http_emulator, emulator, "/users/lee@contoso.test/calendar/getSchedule", _token(emulator, None, roles=("Calendars.Read",)), body)
    assert app.status_code == 200


def _find(http_emulator: requests.Session, emulator: RunningEmulator, organizer: str, attendees: list[str], start: datetime,
          end: datetime, duration: str = "PT1H", **extra: Any) -> requests.Response:
    body = {"attendees": [{"type": "required", "emailAddress": {"address": a}} for a in attendees],
            "timeConstraint": {"activityDomain": "work", "timeSlots": [{"start": _at(start), "end": _at(end)}]},
            "meetingDuration": duration, "maxCandidates": 10, **extra}
    return _post(http_emulator, emulator, "/me/findMeetingTimes", _token(emulator, organizer), body)


def test_find_meeting_times_avoids_the_organizers_busy_time(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    monday = _week(emulator) + timedelta(days=7)
    resp = _find(http_emulator, emulator, "lee@contoso.test", ["lidia@contoso.test"], monday + timedelta(hours=8), monday + timedelta(hours=12),
                 returnSuggestionReasons=True)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["emptySuggestionsReason"] == ""
    starts = [s["meetingTimeSlot"]["start"]["dateTime"][11:16] for s in body["meetingTimeSuggestions"]]
    assert starts == ["08:00", "09:30", "10:00", "10:30", "11:00"]
    first = body["meetingTimeSuggestions"][0]
    assert first["confidence"] == 100.0 and first["organizerAvailability"] == "free"
    assert [s["order"] for s in body["meetingTimeSuggestions"]] == [1, 2, 3, 4, 5]
    assert first["attendeeAvailability"] == [{"attendee": {"type": "required", "emailAddress": {"address": "lidia@contoso.test"}},
                                              "availability": "free"}]
    assert first["suggestionReason"]


def test_find_meeting_times_explains_an_empty_answer(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    review = _week(emulator) + timedelta(days=10, hours=10)  # Megan's benefits review, 10:00-11:00
    busy = _find(http_emulator, emulator, "lee@contoso.test", ["megan@contoso.test"], review, review + timedelta(hours=1)).json()
    assert busy["meetingTimeSuggestions"] == [] and busy["emptySuggestionsReason"] == "attendeesUnavailable"
    unknown = _find(http_emulator, emulator, "lee@contoso.test", ["megan@contoso.test", "someone@example.com"], review,
                    review + timedelta(hours=1)).json()
    assert unknown["emptySuggestionsReason"] == "attendeesUnavailableOrUnknown"
    sync = _week(emulator) + timedelta(hours=9)
    organizer_busy = _find(http_emulator, emulator, "lee@contoso.test", ["lidia@contoso.test"], sync, sync + timedelta(minutes=30), "PT30M").json()
    assert organizer_busy["emptySuggestionsReason"] == "organizerUnavailable"


def test_find_meeting_times_lowers_confidence_when_attendees_are_busy(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    review = _week(emulator) + timedelta(days=10, hours=10)
    resp = _find(http_emulator, emulator, "lee@contoso.test", ["megan@contoso.test"], review, review + timedelta(hours=1),
                 minimumAttendeePercentage=0).json()
    assert [(s["confidence"], s["attendeeAvailability"][0]["availability"]) for s in resp["meetingTimeSuggestions"]] == [
        (50.0, "busy")]


def test_find_meeting_times_checks_duration_and_permission(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    monday = _week(emulator) + timedelta(days=7)
    bad = _find(http_emulator, emulator, "lee@contoso.test", [], monday, monday + timedelta(hours=4), "one hour")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "RequestBodyRead"
    assert bad.json()["error"]["message"] == "Cannot convert the literal 'one hour' to the expected type 'Edm.Duration'."
    body = {"attendees": [], "meetingDuration": "PT1H"}
    denied = _post(http_emulator, emulator, "/me/findMeetingTimes", _token(emulator, "lee@contoso.test", ("Calendars.ReadWrite",)), body)
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "ErrorAccessDenied"
