"""graphfns.execute: delegated and application calls, validation, the catalog errors, the call log."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

import graphfns
from graphfns.errors import FunctionError
from graphfns.models import FunctionCall
from membership.models import MicrosoftSettings
from tests.support.members import Connect, account_of, seeded_user


def test_a_member_reads_their_own_profile(connect: Connect) -> None:
    lee = connect("lee")
    profile = graphfns.execute("users.get", {"user_id": "me"}, auth_user=lee)
    assert profile["userPrincipalName"] == "lee@contoso.test"
    log = FunctionCall.objects.get()
    assert (log.function, log.mode, log.status, log.acting_user) == ("users.get", "delegated", "ok", lee)
    assert log.request_id


def test_the_application_reads_a_user_by_upn(emulator: Any, microsoft: MicrosoftSettings) -> None:
    profile = graphfns.execute("users.get", {"user_id": "adele@contoso.test", "select": ["displayName"]})
    assert profile["displayName"] == "Adele Vance"
    assert FunctionCall.objects.get().mode == "application"


def test_a_platform_user_id_names_that_members_microsoft_account(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    profile = graphfns.execute("users.get", {"user_id": str(lee.pk)})
    assert profile["id"] == seeded_user(emulator, "lee")["id"]


def test_params_are_validated_before_any_call(emulator: Any, microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    with pytest.raises(FunctionError) as excinfo:
        graphfns.execute("users.get", {"select": ["displayName"], "colour": "blue"})
    assert excinfo.value.code == "ValidationError"
    fields = {e["field"] for e in excinfo.value.details["errors"]}
    assert "user_id" in fields
    assert not any(k.startswith("GET /v1.0") for k in emulator.emulator.requests)


def test_an_unknown_function_is_named(microsoft: MicrosoftSettings) -> None:
    with pytest.raises(FunctionError) as excinfo:
        graphfns.execute("users.teleport", {})
    assert excinfo.value.code == "UnknownFunction"
    assert excinfo.value.status == 404


def test_disabled_settings_answer_microsoft_auth_disabled(microsoft: MicrosoftSettings) -> None:
    microsoft.enabled = False
    microsoft.save()
    with pytest.raises(FunctionError) as excinfo:
        graphfns.execute("users.get", {"user_id": "adele@contoso.test"})
    assert excinfo.value.code == "MicrosoftAuthDisabled"
    assert FunctionCall.objects.get().error_code == "MicrosoftAuthDisabled"


def test_a_member_without_a_microsoft_account_is_not_connected(microsoft: MicrosoftSettings, django_user_model: Any) -> None:
    local = django_user_model.objects.create(username="local")
    with pytest.raises(FunctionError) as excinfo:
        graphfns.execute("users.get", {"user_id": "me"}, auth_user=local)
    assert excinfo.value.code == "NotConnected"


def test_a_missing_scope_is_scope_invalid_with_a_reconnect_url(connect: Connect) -> None:
    lee = connect("lee", scopes=["Calendars.Read"])
    account = account_of(lee)
    account.granted_scopes = "Calendars.Read"
    account.save()
    with pytest.raises(FunctionError) as excinfo:
        graphfns.execute("users.list", {}, auth_user=lee)
    assert excinfo.value.code == "ScopeInvalid"
    assert excinfo.value.details["reconnect_url"].startswith("/auth/microsoft/consent/?scopes=User.ReadBasic.All")


def test_an_expired_access_token_is_refreshed_once_and_stored(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    account = account_of(lee)
    old_access, old_refresh = account.access_token, account.refresh_token
    account.access_token_expires_at = timezone.now() + timedelta(minutes=4)  # inside the 5-minute margin
    account.save()
    emulator.emulator.grants.clear()
    graphfns.execute("users.get", {"user_id": "me"}, auth_user=lee)
    graphfns.execute("users.get", {"user_id": "me"}, auth_user=lee)
    assert emulator.emulator.grants["refresh_token"] == 1
    account.refresh_from_db()
    assert account.access_token != old_access
    assert account.refresh_token != old_refresh


def test_a_revoked_grant_makes_the_account_need_reconsent(connect: Connect, emulator: Any, http_emulator: Any) -> None:
    lee = connect("lee")
    account = account_of(lee)
    account.access_token_expires_at = timezone.now()
    account.save()
    http_emulator.post(f"{emulator.base_url}/_emulator/users/lee@contoso.test/invalid-grant", json={"code": 50173})
    with pytest.raises(FunctionError) as excinfo:
        graphfns.execute("users.get", {"user_id": "me"}, auth_user=lee)
    assert excinfo.value.code == "RefreshTokenInvalid"
    account.refresh_from_db()
    assert account.status == "needs_reconsent"
    assert "AADSTS50173" in account.last_error
    emulator.emulator.grants.clear()
    with pytest.raises(FunctionError) as again:  # fails fast: no second refresh attempt
        graphfns.execute("users.get", {"user_id": "me"}, auth_user=lee)
    assert again.value.code == "RefreshTokenInvalid"
    assert emulator.emulator.grants["refresh_token"] == 0


def test_the_application_token_is_requested_once_for_many_calls(emulator: Any, microsoft: MicrosoftSettings) -> None:
    from graphfns.app_tokens import clear_app_token_cache

    clear_app_token_cache()
    emulator.emulator.grants.clear()
    for _ in range(5):
        graphfns.execute("users.get", {"user_id": "adele@contoso.test"})
    assert emulator.emulator.grants["client_credentials"] == 1
    assert clear_app_token_cache() is True
    graphfns.execute("users.get", {"user_id": "adele@contoso.test"})
    graphfns.execute("users.get", {"user_id": "adele@contoso.test"})
    assert emulator.emulator.grants["client_credentials"] == 2


@pytest.mark.parametrize("name, params, field", [
    ("users.request", {"method": "PATCH", "path": "/users/lee@contoso.test", "body": {"jobTitle": float("nan")}},
     "body.jobTitle"),
    ("users.request", {"method": "PATCH", "path": "/users/lee@contoso.test", "body": {"x": [float("-inf")]}},
     "body.x.0"),
    ("calendar.find_meeting_times", {"user_id": "lee@contoso.test", "start": "2026-12-01T09:00:00Z",
                                     "end": "2026-12-01T17:00:00Z", "minimum_attendee_percentage": float("nan")},
     "minimum_attendee_percentage"),
    ("users.get", {"user_id": "lee\ud800@contoso.test"}, "user_id"),
    ("users.get_many", {"user_ids": ["adele@contoso.test", "\udc00@contoso.test"]}, "user_ids.1"),
    ("users.request", {"method": "GET", "path": "/users/lee\ud800@contoso.test/manager"}, "path"),
    ("users.request", {"method": "PATCH", "path": "/users/lee@contoso.test", "body": {"jobTitle": "\ud83d"}},
     "body.jobTitle"),
], ids=["nan-in-body", "infinity-in-body", "nan-param", "surrogate-user-id", "surrogate-in-a-list",
        "surrogate-path", "surrogate-in-body"])
def test_values_json_cannot_carry_are_refused_before_any_call(
        name: str, params: dict[str, Any], field: str, emulator: Any, microsoft: MicrosoftSettings,
        caplog: pytest.LogCaptureFixture) -> None:
    emulator.emulator.requests.clear()
    with pytest.raises(FunctionError) as excinfo:
        graphfns.execute(name, params)
    assert (excinfo.value.code, excinfo.value.details["field"]) == ("ValidationError", field)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert sum(n for key, n in emulator.emulator.requests.items() if " /v1.0" in key) == 0


def test_params_nested_too_deeply_are_refused(emulator: Any, microsoft: MicrosoftSettings) -> None:
    deep: Any = "CTO"
    for _ in range(5000):  # deeper than Python's recursion limit
        deep = [deep]
    with pytest.raises(FunctionError) as excinfo:
        graphfns.execute("users.request", {"method": "PATCH", "path": "/users/lee@contoso.test",
                                           "body": {"jobTitle": deep}})
    assert excinfo.value.code == "ValidationError"
    assert excinfo.value.details["field"].startswith("body.jobTitle.0.0")


def test_a_body_nested_as_deep_as_graph_bodies_go_is_sent(connect: Connect) -> None:
    lee = connect("lee", scopes=["Calendars.ReadWrite"])
    event = {"subject": "Nested", "start": {"dateTime": "2026-12-01T09:00:00", "timeZone": "UTC"},
             "end": {"dateTime": "2026-12-01T09:30:00", "timeZone": "UTC"},
             "recurrence": {"pattern": {"type": "daily", "interval": 1, "daysOfWeek": ["monday"]},
                            "range": {"type": "numbered", "startDate": "2026-12-01", "numberOfOccurrences": 2}},
             "attendees": [{"emailAddress": {"address": "megan@contoso.test", "name": "Megan"}, "type": "required"}]}
    created = graphfns.execute("calendar.request", {"method": "POST", "path": "/me/events", "body": event},
                               auth_user=lee)
    assert created["status"] == 201
