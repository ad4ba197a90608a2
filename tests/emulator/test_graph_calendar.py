"""Graph calendars and events: CRUD, calendarView expansion, instances, idempotent creates, meeting actions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from emulator.server import RunningEmulator
from tests.support.graph import graph_call, graph_token

CONTOSO = "contoso.test"
OWN = ("User.Read", "Calendars.ReadWrite")
FMT = "%Y-%m-%dT%H:%M:%S"


def _token(emulator: RunningEmulator, upn: str | None, scopes: tuple[str, ...] = OWN, roles: tuple[str, ...] = ()) -> str:
    return graph_token(emulator, upn, scopes, roles)


_call = graph_call


def _week(emulator: RunningEmulator) -> datetime:
    """Monday 00:00 UTC of the seeded week (the weekly sync's first occurrence is that day at 09:00)."""
    lee = emulator.emulator.user(emulator.emulator.tenant(CONTOSO), "lee@contoso.test")  # type: ignore[arg-type]
    sync = next(e for e in lee["calendars"][0]["events"] if e["subject"] == "Engineering weekly sync")  # type: ignore[index]
    start = datetime.fromisoformat(sync["start"]["dateTime"]).replace(tzinfo=UTC)
    return start.replace(hour=0)


def _view(http_emulator: requests.Session, emulator: RunningEmulator, token: str, start: datetime, end: datetime,
          path: str = "/me/calendarView", extra: str = "") -> list[dict[str, Any]]:
    url: str | None = (f"{path}?startDateTime={start.strftime(FMT)}Z&endDateTime={end.strftime(FMT)}Z"
                       f"&$top=50{extra}")
    items: list[dict[str, Any]] = []
    while url:
        resp = _call(http_emulator, emulator, "GET", url, token)
        assert resp.status_code == 200, resp.text
        items += resp.json()["value"]
        url = resp.json().get("@odata.nextLink")
    return items


def _event(subject: str, start: datetime, minutes: int = 60, **extra: Any) -> dict[str, Any]:
    return {"subject": subject, "start": {"dateTime": start.strftime(FMT), "timeZone": "UTC"},
            "end": {"dateTime": (start + timedelta(minutes=minutes)).strftime(FMT), "timeZone": "UTC"}, **extra}


def _error(resp: requests.Response, status: int, code: str) -> str:
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code
    return str(resp.json()["error"]["message"])


# -- calendars ------------------------------------------------------------------------------------


def test_calendars_are_listed_and_the_default_one_is_marked(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    body = _call(http_emulator, emulator, "GET", "/me/calendars", _token(emulator, "lee@contoso.test")).json()
    assert [(c["name"], c["isDefaultCalendar"]) for c in body["value"]] == [("Calendar", True), ("Projects", False)]
    assert all("events" not in c for c in body["value"])
    default = _call(http_emulator, emulator, "GET", "/me/calendar", _token(emulator, "lee@contoso.test")).json()
    assert default["id"] == body["value"][0]["id"] and default["owner"]["address"] == "lee@contoso.test"


def test_a_calendar_is_created_renamed_and_deleted(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "lidia@contoso.test")
    created = _call(http_emulator, emulator, "POST", "/me/calendars", token, {"name": "Side project"})
    assert created.status_code == 201
    cid = created.json()["id"]
    _error(_call(http_emulator, emulator, "POST", "/me/calendars", token, {"name": "side PROJECT"}), 409, "ErrorFolderExists")
    renamed = _call(http_emulator, emulator, "PATCH", f"/me/calendars/{cid}", token, {"name": "Hobby", "color": "lightGreen"})
    assert renamed.json()["name"] == "Hobby" and renamed.json()["color"] == "lightGreen"
    assert _call(http_emulator, emulator, "DELETE", f"/me/calendars/{cid}", token).status_code == 204
    _error(_call(http_emulator, emulator, "GET", f"/me/calendars/{cid}", token), 404, "ErrorItemNotFound")


def test_the_default_calendar_cannot_be_deleted(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "lidia@contoso.test")
    cid = _call(http_emulator, emulator, "GET", "/me/calendar", token).json()["id"]
    _error(_call(http_emulator, emulator, "DELETE", f"/me/calendars/{cid}", token), 400, "ErrorDeleteDistinguishedFolder")


# -- events CRUD ----------------------------------------------------------------------------------


def test_an_event_is_created_read_updated_and_deleted(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "grady@contoso.test")
    start = _week(emulator) + timedelta(days=3, hours=15)
    created = _call(http_emulator, emulator, "POST", "/me/events", token,
                    _event("Sketch review", start, body={"contentType": "html", "content": "<p>Bring <b>sketches</b></p>"}))
    assert created.status_code == 201, created.text
    ev = created.json()
    assert ev["isOrganizer"] is True and ev["type"] == "singleInstance" and ev["bodyPreview"] == "Bring sketches"
    assert ev["start"] == {"dateTime": start.strftime(FMT) + ".0000000", "timeZone": "UTC"}
    assert _call(http_emulator, emulator, "GET", f"/me/events/{ev['id']}?$select=subject", token).json()["subject"] == "Sketch review"
    patched = _call(http_emulator, emulator, "PATCH", f"/me/events/{ev['id']}", token, {"subject": "Sketch review (moved)",
                                                                          "location": {"displayName": "Room 2"}})
    assert patched.status_code == 200 and patched.json()["location"] == {
        "displayName": "Room 2", "locationType": "default", "uniqueId": "Room 2", "uniqueIdType": "private"}
    assert patched.json()["locations"] == [patched.json()["location"]]
    assert ev["location"] == {"displayName": "", "locationType": "default", "uniqueIdType": "unknown", "address": {},
                              "coordinates": {}} and ev["locations"] == []
    assert _call(http_emulator, emulator, "DELETE", f"/me/events/{ev['id']}", token).status_code == 204
    msg = _error(_call(http_emulator, emulator, "GET", f"/me/events/{ev['id']}", token), 404, "ErrorItemNotFound")
    assert msg == "The specified object was not found in the store."


def test_an_event_body_comes_back_as_html_unless_text_is_preferred(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "grady@contoso.test")
    start = _week(emulator) + timedelta(days=3, hours=15)
    created = _call(http_emulator, emulator, "POST", "/me/events", token,
                    _event("Plain notes", start, body={"contentType": "text", "content": "Bring <sketches>\nand pens"}))
    assert created.status_code == 201, created.text
    html_body = created.json()["body"]
    assert html_body["contentType"] == "html"
    assert "<div>Bring &lt;sketches&gt;</div>" in html_body["content"] and html_body["content"].startswith("<html>")
    url = f"/me/events/{created.json()['id']}"
    plain = _call(http_emulator, emulator, "GET", url, token, Prefer='outlook.body-content-type="text"')
    assert plain.json()["body"] == {"contentType": "text", "content": "Bring <sketches>\nand pens"}
    assert plain.headers["Preference-Applied"] == 'outlook.body-content-type="text"'
    both = _call(http_emulator, emulator, "GET", url, token,
                 Prefer='outlook.timezone="Pacific Standard Time", outlook.body-content-type="text"')
    assert both.headers["Preference-Applied"] == ('outlook.timezone="Pacific Standard Time", '
                                                  'outlook.body-content-type="text"')
    rich = _call(http_emulator, emulator, "POST", "/me/events", token,
                 _event("Rich notes", start, body={"contentType": "html", "content": "<p>Bring <b>sketches</b> &amp; pens</p>"}),
                 Prefer='outlook.body-content-type="text"')
    assert rich.json()["body"] == {"contentType": "text", "content": "Bring sketches & pens"}
    listed = _call(http_emulator, emulator, "GET", "/me/events?$select=subject,body&$top=50", token).json()["value"]
    assert {e["body"]["contentType"] for e in listed} == {"html"}


def test_event_times_in_another_zone_are_stored_in_utc_and_returned_in_the_preferred_zone(
        emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "grady@contoso.test")
    body = {"subject": "West coast sync", "start": {"dateTime": "2031-01-15T09:00:00", "timeZone": "Pacific Standard Time"},
            "end": {"dateTime": "2031-01-15T10:00:00", "timeZone": "Pacific Standard Time"}}
    ev = _call(http_emulator, emulator, "POST", "/me/events", token, body).json()
    assert ev["start"]["dateTime"].startswith("2031-01-15T17:00:00") and ev["originalStartTimeZone"] == "Pacific Standard Time"
    pacific = _call(http_emulator, emulator, "GET", f"/me/events/{ev['id']}", token, Prefer='outlook.timezone="Pacific Standard Time"')
    assert pacific.json()["start"] == {"dateTime": "2031-01-15T09:00:00.0000000", "timeZone": "Pacific Standard Time"}
    assert pacific.headers["Preference-Applied"] == 'outlook.timezone="Pacific Standard Time"'
    bad = {**body, "start": {"dateTime": "2031-01-15T09:00:00", "timeZone": "Mars/Olympus"}}
    _error(_call(http_emulator, emulator, "POST", "/me/events", token, bad), 400, "TimeZoneNotSupportedException")


def test_every_windows_zone_id_outlook_lists_and_iana_names_are_accepted(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "grady@contoso.test")
    for zone, utc_start in [("Nepal Standard Time", "2031-01-15T03:15:00"), ("Cen. Australia Standard Time", "2031-01-14T22:30:00"),
                            ("Argentina Standard Time", "2031-01-15T12:00:00"), ("Asia/Kathmandu", "2031-01-15T03:15:00")]:
        body = {"subject": zone, "start": {"dateTime": "2031-01-15T09:00:00", "timeZone": zone},
                "end": {"dateTime": "2031-01-15T10:00:00", "timeZone": zone}}
        resp = _call(http_emulator, emulator, "POST", "/me/events", token, body)
        assert resp.status_code == 201, resp.text
        assert resp.json()["start"]["dateTime"].startswith(utc_start), zone


def test_creating_an_event_ending_before_it_starts_is_rejected(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "grady@contoso.test")
    _error(_call(http_emulator, emulator, "POST", "/me/events", token, _event("Backwards", _week(emulator), minutes=-30)), 400, "ErrorInvalidRequest")
    _error(_call(http_emulator, emulator, "POST", "/me/events", token, {"subject": "No times"}), 400, "ErrorInvalidRequest")
    _error(_call(http_emulator, emulator, "POST", "/me/events", token, {**_event("x", _week(emulator)), "colour": "red"}), 400, "RequestBodyRead")


def test_a_retried_create_with_the_same_transaction_id_returns_the_same_event(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "grady@contoso.test")
    body = _event("Retry-safe", _week(emulator) + timedelta(days=4, hours=11), transactionId="7E163156-7762-4BEB-A1C6-729EA81755A7")
    first = _call(http_emulator, emulator, "POST", "/me/events", token, body)
    second = _call(http_emulator, emulator, "POST", "/me/events", token, body)
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    listed = _call(http_emulator, emulator, "GET", "/me/events?$filter=subject eq 'Retry-safe'", token).json()["value"]
    assert len(listed) == 1


def test_events_list_pages_with_top_and_filters_on_start(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "grady@contoso.test")
    base = _week(emulator) + timedelta(days=21)
    for i in range(7):
        assert _call(http_emulator, emulator, "POST", "/me/events", token, _event(f"Batch {i}", base + timedelta(hours=i))).status_code == 201
    after = (base - timedelta(minutes=1)).strftime(FMT) + "Z"
    url: str | None = f"/me/events?$top=3&$filter=start/dateTime ge '{after}'&$orderby=start/dateTime desc&$select=subject"
    subjects, pages = [], 0
    while url:
        body = _call(http_emulator, emulator, "GET", url, token).json()
        subjects += [e["subject"] for e in body["value"]]
        pages += 1
        url = body.get("@odata.nextLink")
    assert pages == 3 and subjects == [f"Batch {i}" for i in reversed(range(7))]


def test_events_list_defaults_to_ten_per_page(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "grady@contoso.test")
    for i in range(11):
        _call(http_emulator, emulator, "POST", "/me/events", token, _event(f"Many {i}", _week(emulator) + timedelta(days=30, hours=i)))
    body = _call(http_emulator, emulator, "GET", "/me/events?$count=true", token).json()
    assert len(body["value"]) == 10 and "$skip=10" in body["@odata.nextLink"]
    assert body["@odata.count"] == 12  # the eleven plus the seeded focus time


def test_events_in_a_secondary_calendar_are_addressed_through_it(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "lee@contoso.test")
    projects = _call(http_emulator, emulator, "GET", "/me/calendars", token).json()["value"][1]
    events = _call(http_emulator, emulator, "GET", f"/me/calendars/{projects['id']}/events", token).json()["value"]
    assert [e["subject"] for e in events] == ["Launch readiness"]
    default_subjects = {e["subject"] for e in _call(http_emulator, emulator, "GET", "/me/events", token).json()["value"]}
    assert "Launch readiness" not in default_subjects


# -- calendarView ---------------------------------------------------------------------------------


def test_calendar_view_expands_the_weekly_series_over_four_weeks(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "lee@contoso.test")
    week = _week(emulator)
    items = _view(http_emulator, emulator, token, week, week + timedelta(weeks=4))
    syncs = [e for e in items if e["subject"] == "Engineering weekly sync"]
    assert len(syncs) == 4
    master_id = syncs[0]["seriesMasterId"]
    assert all(e["type"] == "occurrence" and e["seriesMasterId"] == master_id for e in syncs)
    assert [e["start"]["dateTime"][:16] for e in syncs] == [
        (week + timedelta(weeks=i, hours=9)).strftime("%Y-%m-%dT%H:%M") for i in range(4)]
    assert len({e["id"] for e in syncs}) == 4
    starts = [e["start"]["dateTime"] for e in items]
    assert starts == sorted(starts)
    assert not any(e["type"] == "seriesMaster" for e in items)


def test_calendar_view_includes_single_events_that_overlap_the_window_edges(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "adele@contoso.test")
    planning = _week(emulator) + timedelta(days=2, hours=14)  # 90 minutes
    inside = _view(http_emulator, emulator, token, planning + timedelta(minutes=89), planning + timedelta(hours=3))
    assert [e["subject"] for e in inside] == ["Quarterly planning"]
    assert _view(http_emulator, emulator, token, planning + timedelta(minutes=90), planning + timedelta(hours=3)) == []


def test_calendar_view_needs_its_time_window(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    msg = _error(_call(http_emulator, emulator, "GET", "/me/calendarView", _token(emulator, "lee@contoso.test")), 400, "ErrorInvalidParameter")
    assert msg == ("This request requires a time window specified by the query string parameters StartDateTime and "
                   "EndDateTime.")


def test_ranges_with_an_end_date_or_a_count_stop_the_series(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "grady@contoso.test")
    week = _week(emulator)
    daily = _event("Daily numbered", week + timedelta(hours=7), 15, recurrence={
        "pattern": {"type": "daily", "interval": 2},
        "range": {"type": "numbered", "startDate": week.strftime("%Y-%m-%d"), "numberOfOccurrences": 5}})
    weekly = _event("Tue/Thu until", week + timedelta(days=1, hours=7, minutes=30), 15, recurrence={
        "pattern": {"type": "weekly", "interval": 1, "daysOfWeek": ["tuesday", "thursday"]},
        "range": {"type": "endDate", "startDate": week.strftime("%Y-%m-%d"),
                  "endDate": (week + timedelta(days=15)).strftime("%Y-%m-%d")}})
    monthly = _event("Monthly on the 3rd", datetime(week.year, week.month, 3, 6, tzinfo=UTC), 15, recurrence={
        "pattern": {"type": "absoluteMonthly", "interval": 1, "dayOfMonth": 3},
        "range": {"type": "noEnd", "startDate": f"{week.year}-{week.month:02d}-03"}})
    for body in (daily, weekly, monthly):
        resp = _call(http_emulator, emulator, "POST", "/me/events", token, body)
        assert resp.status_code == 201 and resp.json()["type"] == "seriesMaster", resp.text
    window_start = datetime(week.year, week.month, 1, tzinfo=UTC)
    items = _view(http_emulator, emulator, token, window_start, window_start + timedelta(days=130))  # always five 3rds
    by_subject: dict[str, list[str]] = {}
    for e in items:
        by_subject.setdefault(e["subject"], []).append(e["start"]["dateTime"][:10])
    assert by_subject["Daily numbered"] == [(week + timedelta(days=2 * i)).strftime("%Y-%m-%d") for i in range(5)]
    assert by_subject["Tue/Thu until"] == [(week + timedelta(days=d)).strftime("%Y-%m-%d") for d in (1, 3, 8, 10, 15)]
    assert len(by_subject["Monthly on the 3rd"]) == 5 and all(d.endswith("-03") for d in by_subject["Monthly on the 3rd"])


def test_an_invalid_recurrence_is_rejected(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "grady@contoso.test")
    bad = _event("Bad", _week(emulator), recurrence={"pattern": {"type": "weekly", "interval": 1},
                                                  "range": {"type": "noEnd", "startDate": "2030-01-01"}})
    _error(_call(http_emulator, emulator, "POST", "/me/events", token, bad), 400, "ErrorInvalidRequest")


def test_instances_list_a_series_occurrences_and_one_can_be_deleted(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "lee@contoso.test")
    week = _week(emulator)
    first = _view(http_emulator, emulator, token, week, week + timedelta(days=1))[0]
    master = first["seriesMasterId"]
    instances = _view(http_emulator, emulator, token, week, week + timedelta(weeks=3), path=f"/me/events/{master}/instances")
    assert len(instances) == 3 and instances[0]["id"] == first["id"]
    single = _call(http_emulator, emulator, "GET", f"/me/events/{instances[1]['id']}", token).json()
    assert single["type"] == "occurrence" and single["start"] == instances[1]["start"]
    assert "occurrenceId" not in single  # a beta property; v1.0 does not declare it
    _error(_call(http_emulator, emulator, "GET", f"/me/events/{instances[1]['id']}?$select=occurrenceId", token), 400, "BadRequest")
    assert _call(http_emulator, emulator, "DELETE", f"/me/events/{instances[1]['id']}", token).status_code == 204
    cancelled = _call(http_emulator, emulator, "GET", f"/me/events/{master}?$select=cancelledOccurrences", token).json()
    assert cancelled["cancelledOccurrences"] == [f"OID.{master}.{instances[1]['start']['dateTime'][:10]}"]
    after = _view(http_emulator, emulator, token, week, week + timedelta(weeks=3), path=f"/me/events/{master}/instances")
    assert [i["id"] for i in after] == [instances[0]["id"], instances[2]["id"]]
    lidia = _token(emulator, "lidia@contoso.test")
    lidia_syncs = [e for e in _view(http_emulator, emulator, lidia, week, week + timedelta(weeks=3)) if e["subject"] == "Engineering weekly sync"]
    assert len(lidia_syncs) == 2  # the organizer deleting an occurrence cancels it for attendees too


def test_changing_one_occurrence_makes_it_an_exception(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "lee@contoso.test")
    week = _week(emulator)
    occ = _view(http_emulator, emulator, token, week + timedelta(weeks=1), week + timedelta(weeks=1, days=1))[0]
    moved = (week + timedelta(weeks=1, hours=13)).strftime(FMT)
    resp = _call(http_emulator, emulator, "PATCH", f"/me/events/{occ['id']}", token, {
        "subject": "Sync (moved)", "start": {"dateTime": moved, "timeZone": "UTC"},
        "end": {"dateTime": (week + timedelta(weeks=1, hours=13, minutes=30)).strftime(FMT), "timeZone": "UTC"}})
    assert resp.status_code == 200 and resp.json()["type"] == "exception"
    items = _view(http_emulator, emulator, token, week + timedelta(weeks=1), week + timedelta(weeks=1, days=1))
    exception = next(e for e in items if e["id"] == occ["id"])
    assert exception["subject"] == "Sync (moved)" and exception["start"]["dateTime"].startswith(moved)


# -- meetings -------------------------------------------------------------------------------------


def _meeting(http_emulator: requests.Session, emulator: RunningEmulator, organizer: str, attendees: list[str],
             start: datetime) -> dict[str, Any]:
    body = _event("Design crit", start, attendees=[{"type": "required", "emailAddress": {"address": a}} for a in attendees])
    resp = _call(http_emulator, emulator, "POST", "/me/events", _token(emulator, organizer), body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json())


def _copy(http_emulator: requests.Session, emulator: RunningEmulator, upn: str, ical: str) -> dict[str, Any]:
    events = _call(http_emulator, emulator, "GET", f"/me/events?$filter=iCalUId eq '{ical}'", _token(emulator, upn)).json()["value"]
    assert len(events) == 1
    return dict(events[0])


def test_a_meeting_appears_in_each_attendees_calendar_with_the_same_ical_uid(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    ev = _meeting(http_emulator, emulator, "grady@contoso.test", ["isaiah@contoso.test", "outsider@example.com"],
                  _week(emulator) + timedelta(days=17, hours=10))
    copy = _copy(http_emulator, emulator, "isaiah@contoso.test", ev["iCalUId"])
    assert copy["id"] != ev["id"] and copy["isOrganizer"] is False
    assert copy["responseStatus"]["response"] == "notResponded"
    assert copy["organizer"]["emailAddress"]["address"] == "grady@contoso.test"


def test_accepting_updates_the_attendee_and_the_organizers_tracking(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    ev = _meeting(http_emulator, emulator, "grady@contoso.test", ["isaiah@contoso.test", "diego@contoso.test"],
                  _week(emulator) + timedelta(days=17, hours=10))
    isaiah = _token(emulator, "isaiah@contoso.test")
    copy = _copy(http_emulator, emulator, "isaiah@contoso.test", ev["iCalUId"])
    resp = _call(http_emulator, emulator, "POST", f"/me/events/{copy['id']}/accept", isaiah, {"comment": "See you", "sendResponse": True})
    assert resp.status_code == 202 and resp.content == b""
    assert _copy(http_emulator, emulator, "isaiah@contoso.test", ev["iCalUId"])["responseStatus"]["response"] == "accepted"
    diego_copy = _copy(http_emulator, emulator, "diego@contoso.test", ev["iCalUId"])
    assert _call(http_emulator, emulator, "POST", f"/me/events/{diego_copy['id']}/tentativelyAccept",
                 _token(emulator, "diego@contoso.test"), {"sendResponse": True}).status_code == 202
    tracked = _call(http_emulator, emulator, "GET", f"/me/events/{ev['id']}", _token(emulator, "grady@contoso.test")).json()["attendees"]
    assert {a["emailAddress"]["address"]: a["status"]["response"] for a in tracked} == {
        "isaiah@contoso.test": "accepted", "diego@contoso.test": "tentativelyAccepted"}


def test_declining_without_sending_a_response_leaves_the_organizer_uninformed(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    ev = _meeting(http_emulator, emulator, "grady@contoso.test", ["isaiah@contoso.test"], _week(emulator) + timedelta(days=17, hours=10))
    copy = _copy(http_emulator, emulator, "isaiah@contoso.test", ev["iCalUId"])
    assert _call(http_emulator, emulator, "POST", f"/me/events/{copy['id']}/decline", _token(emulator, "isaiah@contoso.test"),
                 {"sendResponse": False}).status_code == 202
    assert _copy(http_emulator, emulator, "isaiah@contoso.test", ev["iCalUId"])["responseStatus"]["response"] == "declined"
    tracked = _call(http_emulator, emulator, "GET", f"/me/events/{ev['id']}", _token(emulator, "grady@contoso.test")).json()["attendees"]
    assert tracked[0]["status"]["response"] == "none"


def test_the_organizer_cannot_respond_to_their_own_meeting(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    ev = _meeting(http_emulator, emulator, "grady@contoso.test", ["isaiah@contoso.test"], _week(emulator) + timedelta(days=17, hours=10))
    resp = _call(http_emulator, emulator, "POST", f"/me/events/{ev['id']}/accept", _token(emulator, "grady@contoso.test"), {})
    assert "organizer" in _error(resp, 400, "ErrorInvalidRequest")


def test_cancelling_removes_the_meeting_and_marks_attendee_copies_cancelled(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    ev = _meeting(http_emulator, emulator, "grady@contoso.test", ["isaiah@contoso.test"], _week(emulator) + timedelta(days=17, hours=10))
    copy = _copy(http_emulator, emulator, "isaiah@contoso.test", ev["iCalUId"])
    refused = _call(http_emulator, emulator, "POST", f"/me/events/{copy['id']}/cancel", _token(emulator, "isaiah@contoso.test"), {"comment": "no"})
    assert refused.status_code == 400
    grady = _token(emulator, "grady@contoso.test")
    assert _call(http_emulator, emulator, "POST", f"/me/events/{ev['id']}/cancel", grady, {"comment": "Postponed"}).status_code == 202
    _error(_call(http_emulator, emulator, "GET", f"/me/events/{ev['id']}", grady), 404, "ErrorItemNotFound")
    cancelled = _copy(http_emulator, emulator, "isaiah@contoso.test", ev["iCalUId"])
    assert cancelled["isCancelled"] is True and cancelled["subject"].startswith("Canceled: ")


def test_an_organizers_update_reaches_the_attendees_copies(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    ev = _meeting(http_emulator, emulator, "grady@contoso.test", ["isaiah@contoso.test"], _week(emulator) + timedelta(days=17, hours=10))
    later = _week(emulator) + timedelta(days=17, hours=15)
    _call(http_emulator, emulator, "PATCH", f"/me/events/{ev['id']}", _token(emulator, "grady@contoso.test"),
          {"start": {"dateTime": later.strftime(FMT), "timeZone": "UTC"},
           "end": {"dateTime": (later + timedelta(hours=1)).strftime(FMT), "timeZone": "UTC"},
           "attendees": [{"emailAddress": {"address": "isaiah@contoso.test"}}, {"emailAddress": {"address": "diego@contoso.test"}}]})
    assert _copy(http_emulator, emulator, "isaiah@contoso.test", ev["iCalUId"])["start"]["dateTime"].startswith(later.strftime(FMT))
    assert _copy(http_emulator, emulator, "diego@contoso.test", ev["iCalUId"])["subject"] == "Design crit"


# -- permissions ----------------------------------------------------------------------------------


def test_reading_another_users_calendar_needs_a_shared_scope_or_an_app_role(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    own_only = _token(emulator, "lidia@contoso.test", ("Calendars.ReadWrite",))
    msg = _error(_call(http_emulator, emulator, "GET", "/users/lee@contoso.test/events", own_only), 403, "ErrorAccessDenied")
    assert msg == "Access is denied. Check credentials and try again."
    shared = _token(emulator, "lidia@contoso.test", ("Calendars.Read.Shared",))
    assert _call(http_emulator, emulator, "GET", "/users/lee@contoso.test/events", shared).status_code == 200
    _error(_call(http_emulator, emulator, "POST", "/users/lee@contoso.test/events", shared, _event("x", _week(emulator))), 403, "ErrorAccessDenied")
    app = _token(emulator, None, roles=("Calendars.Read",))
    assert _call(http_emulator, emulator, "GET", "/users/lee@contoso.test/calendars", app).status_code == 200
    _error(_call(http_emulator, emulator, "POST", "/users/lee@contoso.test/events", app, _event("x", _week(emulator))), 403, "ErrorAccessDenied")
    writer = _token(emulator, None, roles=("Calendars.ReadWrite",))
    assert _call(http_emulator, emulator, "POST", "/users/lee@contoso.test/events", writer, _event("x", _week(emulator))).status_code == 201


def test_reading_ones_own_calendar_needs_a_calendars_scope(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    _error(_call(http_emulator, emulator, "GET", "/me/events", _token(emulator, "lidia@contoso.test", ("User.Read",))), 403, "ErrorAccessDenied")
    read_only = _token(emulator, "lidia@contoso.test", ("Calendars.Read",))
    assert _call(http_emulator, emulator, "GET", "/me/events", read_only).status_code == 200
    _error(_call(http_emulator, emulator, "POST", "/me/events", read_only, _event("x", _week(emulator))), 403, "ErrorAccessDenied")


def test_an_unknown_mailbox_is_an_invalid_user(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    app = _token(emulator, None, roles=("Calendars.Read",))
    msg = _error(_call(http_emulator, emulator, "GET", "/users/ghost@contoso.test/events", app), 404, "ErrorInvalidUser")
    assert msg == "The requested user 'ghost@contoso.test' is invalid."
    _error(_call(http_emulator, emulator, "GET", "/me/events", app), 400, "BadRequest")


def test_an_occurrence_moved_into_another_week_shows_there_and_reaches_attendees(
        emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    lee = _token(emulator, "lee@contoso.test")
    week = _week(emulator)
    occ = _view(http_emulator, emulator, lee, week + timedelta(weeks=1), week + timedelta(weeks=1, days=1))[0]
    target = week + timedelta(weeks=2, days=2, hours=16)  # from next Monday to the Wednesday after
    resp = _call(http_emulator, emulator, "PATCH", f"/me/events/{occ['id']}", lee, {
        "start": {"dateTime": target.strftime(FMT), "timeZone": "UTC"},
        "end": {"dateTime": (target + timedelta(minutes=30)).strftime(FMT), "timeZone": "UTC"}})
    assert resp.status_code == 200
    assert _view(http_emulator, emulator, lee, week + timedelta(weeks=1), week + timedelta(weeks=1, days=1)) == []
    moved = _view(http_emulator, emulator, lee, target, target + timedelta(hours=1))
    assert [(e["id"], e["type"]) for e in moved] == [(occ["id"], "exception")]
    lidia = _view(http_emulator, emulator, _token(emulator, "lidia@contoso.test"), target, target + timedelta(hours=1))
    assert [e["subject"] for e in lidia] == ["Engineering weekly sync"]
