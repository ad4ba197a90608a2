"""The calendar family through graphfns.execute, against the emulator over TLS: delegated and application."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

import graphfns
from graphfns.errors import FunctionError
from membership.models import MicrosoftSettings
from tests.support.api import failure, graph_calls
from tests.support.members import Connect, seeded_user

LEE = "lee@contoso.test"


def seeded_event(emulator: Any, nickname: str, subject: str) -> dict[str, Any]:
    calendar = seeded_user(emulator, nickname)["calendars"][0]
    return next(ev for ev in calendar["events"] if ev["subject"] == subject)


def week_start(emulator: Any) -> datetime:
    """Monday 00:00 UTC of the seed's week (the weekly sync starts then at 09:00)."""
    sync = seeded_event(emulator, "lee", "Engineering weekly sync")
    return datetime.fromisoformat(sync["start"]["dateTime"][:19]) - timedelta(hours=9)


def event(subject: str, start: datetime, minutes: int = 30, **extra: Any) -> dict[str, Any]:
    fmt = "%Y-%m-%dT%H:%M:%S"
    return {"subject": subject, "start": {"dateTime": start.strftime(fmt), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(minutes=minutes)).strftime(fmt), "timeZone": "UTC"}, **extra}


def count_events(subject: str, user_id: str = LEE) -> int:
    found = graphfns.execute("calendar.list_events", {"user_id": user_id, "filter": f"subject eq '{subject}'"})
    return int(found["count"])


# -- calendars ------------------------------------------------------------------------------------


def test_a_member_lists_their_calendars_and_the_application_lists_anyones(connect: Connect) -> None:
    lee = connect("lee")
    mine = graphfns.execute("calendar.list_calendars", {"user_id": "me"}, auth_user=lee)
    assert sorted(c["name"] for c in mine["value"]) == ["Calendar", "Projects"]
    theirs = graphfns.execute("calendar.list_calendars", {"user_id": LEE})
    assert theirs["count"] == 2 and theirs["value"] == mine["value"]


def test_the_default_calendar_and_one_by_id_are_read(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    default = graphfns.execute("calendar.get_calendar", {"user_id": "me"}, auth_user=lee)
    assert default["isDefaultCalendar"] is True
    projects_id = seeded_user(emulator, "lee")["calendars"][1]["id"]
    projects = graphfns.execute("calendar.get_calendar", {"user_id": LEE, "calendar_id": projects_id})
    assert projects["name"] == "Projects"
    assert failure("calendar.get_calendar", {"user_id": LEE, "calendar_id": "AAMkNope"}).code == "NotFound"


def test_a_member_creates_renames_and_deletes_a_calendar(connect: Connect) -> None:
    lee = connect("lee")
    created = graphfns.execute("calendar.create_calendar", {"user_id": "me", "name": "Volunteering",
                                                            "color": "lightGreen"}, auth_user=lee)
    assert (created["name"], created["color"]) == ("Volunteering", "lightGreen")
    ref = {"user_id": "me", "calendar_id": created["id"]}
    renamed = graphfns.execute("calendar.update_calendar", {**ref, "name": "Volunteering 2027"}, auth_user=lee)
    assert renamed["name"] == "Volunteering 2027"
    assert graphfns.execute("calendar.get_calendar", ref, auth_user=lee)["name"] == "Volunteering 2027"
    assert graphfns.execute("calendar.delete_calendar", ref, auth_user=lee)["deleted"] is True
    assert failure("calendar.get_calendar", ref, lee).code == "NotFound"


def test_the_application_manages_another_users_calendar(microsoft: MicrosoftSettings) -> None:
    created = graphfns.execute("calendar.create_calendar", {"user_id": "megan@contoso.test", "name": "Hiring"})
    ref = {"user_id": "megan@contoso.test", "calendar_id": created["id"]}
    assert graphfns.execute("calendar.update_calendar", {**ref, "color": "lightRed"})["color"] == "lightRed"
    graphfns.execute("calendar.delete_calendar", ref)
    names = [c["name"] for c in graphfns.execute("calendar.list_calendars", {"user_id": "megan@contoso.test"})
             ["value"]]
    assert names == ["Calendar"]


def test_the_default_calendar_cannot_be_deleted(connect: Connect) -> None:
    lee = connect("lee")
    default = graphfns.execute("calendar.get_calendar", {"user_id": "me"}, auth_user=lee)
    error = failure("calendar.delete_calendar", {"user_id": "me", "calendar_id": default["id"]}, lee)
    assert (error.code, error.details["graph_code"]) == ("GraphError", "ErrorDeleteDistinguishedFolder")


def test_a_calendar_update_without_changes_is_refused_before_any_call(emulator: Any,
                                                                      microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    error = failure("calendar.update_calendar", {"user_id": LEE, "calendar_id": "AAMk1"})
    assert (error.code, error.details["field"]) == ("ValidationError", "name")
    assert graph_calls(emulator) == 0


# -- bulk creation and listing --------------------------------------------------------------------


def rota(emulator: Any, n: int = 25) -> list[dict[str, Any]]:
    first = week_start(emulator) + timedelta(days=21, hours=8)
    return [event(f"Shift {i:02d}", first + timedelta(hours=i)) for i in range(n)]


def test_many_events_are_created_in_batches_of_twenty_with_progress(emulator: Any,
                                                                    microsoft: MicrosoftSettings) -> None:
    calendar = graphfns.execute("calendar.create_calendar", {"user_id": LEE, "name": "Rota"})
    progress: list[tuple[int, int]] = []
    emulator.emulator.requests.clear()
    result = graphfns.execute("calendar.create_events", {
        "user_id": LEE, "calendar_id": calendar["id"], "idempotency_key": "rota-1", "events": rota(emulator)},
        progress=lambda done, total: progress.append((done, total)))
    assert result["count"] == 25 and result["failed"] == []
    assert [e["subject"] for e in result["value"]] == [f"Shift {i:02d}" for i in range(25)]
    assert emulator.emulator.requests["POST /v1.0/$batch"] == 2
    assert progress == [(0, 25), (20, 25), (25, 25)]
    listed = graphfns.execute("calendar.list_events", {"user_id": LEE, "calendar_id": calendar["id"]})
    assert listed["count"] == 25


def test_creating_many_events_again_with_the_same_key_creates_none_twice(emulator: Any, connect: Connect) -> None:
    lee = connect("lee")
    params = {"user_id": "me", "idempotency_key": "rota-2", "events": rota(emulator, 22)}
    first = graphfns.execute("calendar.create_events", params, auth_user=lee)
    again = graphfns.execute("calendar.create_events", params, auth_user=lee)
    assert [e["id"] for e in again["value"]] == [e["id"] for e in first["value"]]
    assert graphfns.execute("calendar.list_events", {"user_id": "me", "filter": "startswith(subject,'Shift')"},
                            auth_user=lee)["count"] == 22


def test_a_failing_event_in_a_batch_is_reported_by_index(emulator: Any, microsoft: MicrosoftSettings) -> None:
    events = rota(emulator, 3)
    events[1]["end"] = {"dateTime": "2020-01-01T00:00:00", "timeZone": "UTC"}  # ends before it starts
    result = graphfns.execute("calendar.create_events", {"user_id": LEE, "events": events})
    assert [e["subject"] for e in result["value"]] == ["Shift 00", "Shift 02"]
    assert [(f["index"], f["code"], f["graph_code"]) for f in result["failed"]] == [
        (1, "GraphError", "ErrorInvalidRequest")]


def test_events_are_listed_filtered_ordered_and_paged(emulator: Any, microsoft: MicrosoftSettings) -> None:
    graphfns.execute("calendar.create_events", {"user_id": LEE, "events": rota(emulator, 12)})
    emulator.emulator.requests.clear()
    shifts = graphfns.execute("calendar.list_events", {
        "user_id": LEE, "filter": "startswith(subject,'Shift')", "orderby": "start/dateTime desc",
        "select": ["subject"], "top": 5})
    assert [e["subject"] for e in shifts["value"]] == [f"Shift {i:02d}" for i in reversed(range(12))]
    assert set(shifts["value"][0]) == {"@odata.etag", "id", "subject"}
    assert emulator.emulator.requests["GET /v1.0/users/{id}/events"] == 3

    page = graphfns.execute("calendar.list_events", {"user_id": LEE, "filter": "startswith(subject,'Shift')",
                                                     "top": 5, "all_pages": False})
    seen = [e["id"] for e in page["value"]]
    while page["next_cursor"]:
        page = graphfns.execute("calendar.list_events", {"user_id": LEE, "cursor": page["next_cursor"]})
        seen += [e["id"] for e in page["value"]]
    assert len(set(seen)) == 12


def test_a_cursor_for_another_users_events_is_refused(emulator: Any, microsoft: MicrosoftSettings) -> None:
    cursor = f"{emulator.base_url}/v1.0/users/megan@contoso.test/events?$skip=5"
    error = failure("calendar.list_events", {"user_id": LEE, "cursor": cursor})
    assert (error.code, error.details["field"]) == ("ValidationError", "cursor")


# -- one event ------------------------------------------------------------------------------------


def test_an_event_is_read_in_the_time_zone_asked_for(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    planning = seeded_event(emulator, "lee", "Quarterly planning")
    got = graphfns.execute("calendar.get_event", {"user_id": "me", "event_id": planning["id"],
                                                  "time_zone": "Pacific Standard Time"}, auth_user=lee)
    assert got["start"]["timeZone"] == "Pacific Standard Time"
    assert got["start"]["dateTime"] != planning["start"]["dateTime"]
    short = graphfns.execute("calendar.get_event", {"user_id": LEE, "event_id": planning["id"], "select": ["subject"]})
    assert short["subject"] == "Quarterly planning" and "body" not in short


def test_a_missing_event_is_not_found(microsoft: MicrosoftSettings) -> None:
    assert failure("calendar.get_event", {"user_id": LEE, "event_id": "AAMkAGnope"}).code == "NotFound"


def test_an_event_id_cannot_climb_out_of_the_events_path(emulator: Any, microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    with pytest.raises(FunctionError):
        graphfns.execute("calendar.get_event", {"user_id": LEE, "event_id": "../../../users"})
    assert emulator.emulator.requests["GET /v1.0/users"] == 0
    assert emulator.emulator.requests["GET (unmatched)"] == 1


def test_the_same_idempotency_key_creates_one_event(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    params = {"user_id": "me", "idempotency_key": "welcome-7",
              "event": event("Welcome call", week_start(emulator) + timedelta(days=15, hours=9))}
    first = graphfns.execute("calendar.create_event", params, auth_user=lee)
    second = graphfns.execute("calendar.create_event", params, auth_user=lee)
    assert first["id"] == second["id"]
    assert count_events("Welcome call") == 1
    graphfns.execute("calendar.create_event", {**params, "idempotency_key": "welcome-8"}, auth_user=lee)
    assert count_events("Welcome call") == 2


def test_a_retry_after_a_lost_answer_returns_the_event_already_created(
        connect: Connect, emulator: Any, http_emulator: Any) -> None:
    # The emulator applies faults before its handlers run, so "created, then the answer was lost" is
    # played as: the first call creates the event; the retry meets a 503 and is retried by the client.
    lee = connect("lee")
    params = {"user_id": "me", "idempotency_key": "welcome-9",
              "event": event("Intro call", week_start(emulator) + timedelta(days=16, hours=9))}
    first = graphfns.execute("calendar.create_event", params, auth_user=lee)
    fault = http_emulator.post(f"{emulator.base_url}/_emulator/faults", json={
        "kind": "status", "status": 503, "retry_after": 0, "path": "/v1.0/*/events", "method": "POST", "count": 1})
    assert fault.status_code == 201
    again = graphfns.execute("calendar.create_event", params, auth_user=lee)
    assert again["id"] == first["id"]
    assert emulator.emulator.faults[0].fired == 1
    assert count_events("Intro call") == 1


def test_a_dropped_connection_on_create_is_retried_without_a_duplicate(emulator: Any, http_emulator: Any,
                                                                       microsoft: MicrosoftSettings) -> None:
    http_emulator.post(f"{emulator.base_url}/_emulator/faults", json={
        "kind": "reset", "path": "/v1.0/*/events", "method": "POST", "count": 1})
    params = {"user_id": LEE, "idempotency_key": "onboarding-3",
              "event": event("Onboarding", week_start(emulator) + timedelta(days=17, hours=9))}
    created = graphfns.execute("calendar.create_event", params)
    assert emulator.emulator.faults[0].fired == 1
    assert graphfns.execute("calendar.create_event", params)["id"] == created["id"]
    assert count_events("Onboarding") == 1


def test_an_event_with_an_unknown_property_is_refused_before_any_call(emulator: Any,
                                                                      microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    bad = {**event("Oops", week_start(emulator)), "transactionId": "mine"}
    error = failure("calendar.create_event", {"user_id": LEE, "event": bad})
    assert error.code == "ValidationError" and "transactionId" in error.message
    error = failure("calendar.create_event", {"user_id": LEE, "event": {**bad, "start": {"dateTime": "soon",
                                                                                         "timeZone": "UTC"}}})
    assert "event.start.dateTime" in {e["field"] for e in error.details["errors"]}
    assert graph_calls(emulator) == 0


def test_a_member_updates_an_event_and_the_change_is_read_back(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    created = graphfns.execute("calendar.create_event", {
        "user_id": "me", "event": event("1:1", week_start(emulator) + timedelta(days=15, hours=11))}, auth_user=lee)
    ref = {"user_id": "me", "event_id": created["id"]}
    updated = graphfns.execute("calendar.update_event", {**ref, "changes": {
        "subject": "1:1 with Lidia", "location": {"displayName": "Room 301"}}}, auth_user=lee)
    assert updated["subject"] == "1:1 with Lidia"
    got = graphfns.execute("calendar.get_event", ref, auth_user=lee)
    assert (got["subject"], got["location"]["displayName"]) == ("1:1 with Lidia", "Room 301")


def test_the_application_updates_and_deletes_a_users_event(emulator: Any, microsoft: MicrosoftSettings) -> None:
    created = graphfns.execute("calendar.create_event", {
        "user_id": "megan@contoso.test", "event": event("Interview", week_start(emulator) + timedelta(days=15))})
    ref = {"user_id": "megan@contoso.test", "event_id": created["id"]}
    graphfns.execute("calendar.update_event", {**ref, "changes": {"showAs": "tentative"}})
    assert graphfns.execute("calendar.get_event", ref)["showAs"] == "tentative"
    assert graphfns.execute("calendar.delete_event", ref) == {"event_id": created["id"], "deleted": True}
    assert failure("calendar.get_event", ref).code == "NotFound"


def test_a_member_deletes_their_event(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    created = graphfns.execute("calendar.create_event", {
        "user_id": "me", "event": event("Dentist", week_start(emulator) + timedelta(days=18, hours=15))},
        auth_user=lee)
    graphfns.execute("calendar.delete_event", {"user_id": "me", "event_id": created["id"]}, auth_user=lee)
    assert count_events("Dentist") == 0


def test_the_calendar_view_expands_the_weekly_series(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    start = week_start(emulator)
    window = {"start": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "end": (start + timedelta(days=21)).strftime("%Y-%m-%dT%H:%M:%SZ")}
    mine = graphfns.execute("calendar.calendar_view", {"user_id": "me", **window}, auth_user=lee)
    syncs = [e for e in mine["value"] if e["subject"] == "Engineering weekly sync"]
    assert len(syncs) == 3 and {e["type"] for e in syncs} == {"occurrence"}
    lidias = graphfns.execute("calendar.calendar_view", {"user_id": "lidia@contoso.test", **window,
                                                         "select": ["subject"]})
    assert sum(e["subject"] == "Engineering weekly sync" for e in lidias["value"]) == 3


# -- meetings -------------------------------------------------------------------------------------


def attendee_status(emulator: Any, organizer: str, subject: str, nickname: str) -> str:
    meeting = graphfns.execute("calendar.get_event", {"user_id": f"{organizer}@contoso.test",
                                                      "event_id": seeded_event(emulator, organizer, subject)["id"]})
    return next(a["status"]["response"] for a in meeting["attendees"]
                if a["emailAddress"]["address"] == f"{nickname}@contoso.test")


def test_an_attendee_accepts_and_the_organizer_sees_it(connect: Connect, emulator: Any) -> None:
    lidia = connect("lidia")
    invitation = seeded_event(emulator, "lidia", "Engineering weekly sync")
    answer = graphfns.execute("calendar.respond", {"user_id": "me", "event_id": invitation["id"],
                                                   "response": "accept", "comment": "Will be there"}, auth_user=lidia)
    assert answer == {"event_id": invitation["id"], "response": "accept"}
    mine = graphfns.execute("calendar.get_event", {"user_id": "me", "event_id": invitation["id"]}, auth_user=lidia)
    assert mine["responseStatus"]["response"] == "accepted"
    assert attendee_status(emulator, "lee", "Engineering weekly sync", "lidia") == "accepted"


def test_the_application_declines_for_a_user_without_telling_the_organizer(emulator: Any,
                                                                           microsoft: MicrosoftSettings) -> None:
    invitation = seeded_event(emulator, "johanna", "Engineering weekly sync")
    graphfns.execute("calendar.respond", {"user_id": "johanna@contoso.test", "event_id": invitation["id"],
                                          "response": "decline", "send_response": False})
    copy = graphfns.execute("calendar.get_event", {"user_id": "johanna@contoso.test", "event_id": invitation["id"]})
    assert copy["responseStatus"]["response"] == "declined"
    assert attendee_status(emulator, "lee", "Engineering weekly sync", "johanna") == "none"


def test_an_organizer_cannot_respond_to_their_own_meeting(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    sync = seeded_event(emulator, "lee", "Engineering weekly sync")
    error = failure("calendar.respond", {"user_id": "me", "event_id": sync["id"], "response": "tentativelyAccept"},
                    lee)
    assert (error.code, error.details["graph_code"]) == ("GraphError", "ErrorInvalidRequest")


def test_an_organizer_cancels_a_meeting_and_the_attendee_sees_it_cancelled(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    meeting = graphfns.execute("calendar.create_event", {"user_id": "me", "event": event(
        "Design review", week_start(emulator) + timedelta(days=16, hours=14),
        attendees=[{"emailAddress": {"address": "megan@contoso.test"}, "type": "required"}])}, auth_user=lee)
    assert count_events("Design review", "megan@contoso.test") == 1
    cancelled = graphfns.execute("calendar.cancel_event", {"user_id": "me", "event_id": meeting["id"],
                                                           "comment": "Moved to next week."}, auth_user=lee)
    assert cancelled["cancelled"] is True
    assert failure("calendar.get_event", {"user_id": "me", "event_id": meeting["id"]}, lee).code == "NotFound"
    copies = graphfns.execute("calendar.list_events", {"user_id": "megan@contoso.test",
                                                       "filter": "subject eq 'Canceled: Design review'"})
    assert [c["isCancelled"] for c in copies["value"]] == [True]


def test_only_the_organizer_may_cancel(emulator: Any, microsoft: MicrosoftSettings) -> None:
    invitation = seeded_event(emulator, "lidia", "Engineering weekly sync")
    error = failure("calendar.cancel_event", {"user_id": "lidia@contoso.test", "event_id": invitation["id"]})
    assert error.details["graph_code"] == "ErrorAccessDenied"
    assert count_events("Engineering weekly sync", "lidia@contoso.test") == 1


# -- free/busy --------------------------------------------------------------------------------------


def test_the_schedule_shows_busy_and_tentative_slots(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    wednesday = week_start(emulator) + timedelta(days=2)
    window = {"start": (wednesday + timedelta(hours=13)).strftime("%Y-%m-%dT%H:%M:%S"),
              "end": (wednesday + timedelta(hours=16)).strftime("%Y-%m-%dT%H:%M:%S"), "time_zone": "UTC"}
    schedules = ["adele@contoso.test", LEE, "nobody@contoso.test"]
    result = graphfns.execute("calendar.get_schedule", {"user_id": "me", "schedules": schedules, **window},
                              auth_user=lee)
    views = {s["scheduleId"]: s for s in result["value"]}
    assert views["adele@contoso.test"]["availabilityView"] == "002220"  # organizer of Quarterly planning
    assert views[LEE]["availabilityView"] == "001110"  # invited, not yet answered
    assert views["nobody@contoso.test"]["error"]["responseCode"] == "ErrorInvalidUser"
    hourly = graphfns.execute("calendar.get_schedule", {"user_id": LEE, "schedules": schedules[:1], **window,
                                                        "interval": 60})
    assert hourly["value"][0]["availabilityView"] == "022"


def test_a_schedule_window_that_ends_before_it_starts_is_refused(emulator: Any, microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    error = failure("calendar.get_schedule", {"user_id": LEE, "schedules": [LEE], "start": "2026-12-02T10:00:00Z",
                                              "end": "2026-12-02T09:00:00Z"})
    assert (error.code, error.details["field"]) == ("ValidationError", "end")
    assert graph_calls(emulator) == 0


def meeting_window(emulator: Any) -> dict[str, str]:
    thursday = week_start(emulator) + timedelta(days=10)  # Megan's Benefits review is 10:00-11:00
    return {"start": (thursday + timedelta(hours=9)).strftime("%Y-%m-%dT%H:%M:%S"),
            "end": (thursday + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%S"), "time_zone": "UTC"}


def test_meeting_times_avoid_an_attendees_busy_hour(connect: Connect, emulator: Any) -> None:
    lee = connect("lee", scopes=["Calendars.Read.Shared"])
    result = graphfns.execute("calendar.find_meeting_times", {
        "user_id": "me", "attendees": ["megan@contoso.test"], "duration_minutes": 60, **meeting_window(emulator)},
        auth_user=lee)
    starts = sorted(s["meetingTimeSlot"]["start"]["dateTime"][11:16] for s in result["meetingTimeSuggestions"])
    assert starts == ["09:00", "11:00"]
    assert result["emptySuggestionsReason"] == ""


def test_the_application_finds_meeting_times_for_a_user(emulator: Any, microsoft: MicrosoftSettings) -> None:
    result = graphfns.execute("calendar.find_meeting_times", {
        "user_id": LEE, "attendees": ["megan@contoso.test"], "duration_minutes": 30, "max_candidates": 2,
        **meeting_window(emulator)})
    assert len(result["meetingTimeSuggestions"]) == 2
    assert all(s["confidence"] == 100 for s in result["meetingTimeSuggestions"])


def test_finding_meeting_times_needs_a_shared_calendar_scope(connect: Connect) -> None:
    lee = connect("lee")  # Calendars.ReadWrite only
    error = failure("calendar.find_meeting_times", {"user_id": "me", "start": "2026-12-01T09:00:00Z",
                                                    "end": "2026-12-01T12:00:00Z"}, lee)
    assert error.code == "ScopeInvalid"
    assert error.details["missing_scopes"] == ["Calendars.Read.Shared", "Calendars.ReadWrite.Shared"]


# -- pass-through -----------------------------------------------------------------------------------


def test_raw_calendar_requests_reach_a_users_calendar_trees(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    calendars = graphfns.execute("calendar.request", {"method": "GET", "path": "/me/calendars",
                                                      "query": {"$top": 1}}, auth_user=lee)
    assert calendars["status"] == 200 and len(calendars["body"]["value"]) == 1
    created = graphfns.execute("calendar.request", {
        "method": "POST", "path": "/users/megan@contoso.test/calendars", "body": {"name": "Raw"}})
    assert created["status"] == 201
    assert "Raw" in [c["name"] for c in graphfns.execute("calendar.list_calendars",
                                                          {"user_id": "megan@contoso.test"})["value"]]
    sync = seeded_event(emulator, "lee", "Engineering weekly sync")
    instances = graphfns.execute("calendar.request", {
        "method": "GET", "path": f"/users/{LEE}/events/{sync['id']}/instances",
        "query": {"startDateTime": week_start(emulator).isoformat(),
                  "endDateTime": (week_start(emulator) + timedelta(days=14)).isoformat()}})
    assert len(instances["body"]["value"]) == 2


@pytest.mark.parametrize("path", [
    "/me/messages",
    "/me",
    "/users/lee@contoso.test",
    "/users/lee@contoso.test/mailFolders",
    "/me/events/../../messages",
    "/me/events/%2e%2e/%2e%2e/messages",
    "/groups/x/events",
    "https://graph.microsoft.com/v1.0/me/events",
    "/users/lee@contoso.test/messages",
    "/users/$count/events",
    "/users/delta()/events",
    "/me/events/$batch",
    "/me/events/x/$entity",
])
def test_a_raw_request_outside_the_calendar_trees_is_refused(path: str, connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    emulator.emulator.requests.clear()
    error = failure("calendar.request", {"method": "GET", "path": path}, lee)
    assert (error.code, error.details["field"]) == ("ValidationError", "path")
    assert graph_calls(emulator) == 0


def test_raw_calendar_requests_read_events_and_the_calendar_view(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    events = graphfns.execute("calendar.request", {"method": "GET", "path": "/me/Events",
                                                   "query": {"$select": "subject"}}, auth_user=lee)
    assert "Engineering weekly sync" in [e["subject"] for e in events["body"]["value"]]
    start = week_start(emulator)
    view = graphfns.execute("calendar.request", {
        "method": "GET", "path": f"/users/{LEE}/calendarView",
        "query": {"startDateTime": start.isoformat(), "endDateTime": (start + timedelta(days=7)).isoformat()}})
    assert view["status"] == 200 and view["body"]["value"]


@pytest.mark.parametrize("name", ["calendar.calendar_view", "calendar.get_schedule", "calendar.find_meeting_times"])
def test_an_impossible_date_is_a_validation_error_naming_the_field(name: str, emulator: Any,
                                                                    microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    params = {"user_id": LEE, "start": "2026-13-45T10:00:00Z", "end": "2026-12-02T09:00:00Z"}
    if name == "calendar.get_schedule":
        params["schedules"] = [LEE]
    error = failure(name, params)
    assert (error.code, error.details["field"]) == ("ValidationError", "start")
    assert graph_calls(emulator) == 0
