"""API keys: the header's form, the members a key may act for, the functions it may run, its use stamp."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from graphfns.authentication import MAX_ID
from graphfns.models import ApiKey, FunctionCall
from membership.models import MicrosoftSettings
from tests.support.api import post

URL = "/api/functions/users.get/execute"
GET_ADELE = {"params": {"user_id": "adele@contoso.test"}}


def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


@pytest.mark.parametrize("scheme", ["Basic", "Token", "Bearer:", ""])
def test_a_valid_key_under_another_scheme_is_authentication_required(client: Client, microsoft: MicrosoftSettings,
                                                                     scheme: str) -> None:
    _, raw = ApiKey.issue("job")
    response = post(client, URL, GET_ADELE, HTTP_AUTHORIZATION=f"{scheme} {raw}".strip())
    assert error_of(response) == (401, "AuthenticationRequired")
    assert "Bearer" in response.json()["error"]["message"]
    assert not FunctionCall.objects.exists()


def test_the_scheme_is_case_insensitive(client: Client, microsoft: MicrosoftSettings) -> None:
    _, raw = ApiKey.issue("job")
    assert post(client, URL, GET_ADELE, HTTP_AUTHORIZATION=f"bearer {raw}").status_code == 200
    assert FunctionCall.objects.get().caller == "api-key:job"


@pytest.mark.parametrize("user_id", [0, -1, MAX_ID + 1, 2**64, "12a", "", " ", True, False, 1.5, [1], {"id": 1}])
def test_auth_user_id_must_be_a_possible_user_id(client: Client, microsoft: MicrosoftSettings, user_id: Any) -> None:
    _, raw = ApiKey.issue("job")
    response = post(client, URL, {**GET_ADELE, "auth_user_id": user_id}, raw)
    assert error_of(response) == (400, "ValidationError")
    assert response.json()["error"]["details"]["field"] == "auth_user_id"
    assert "must be a platform user id" in response.json()["error"]["message"]


@pytest.mark.parametrize("user_id", [1, MAX_ID, str(MAX_ID), "42"])
def test_the_largest_and_smallest_user_ids_are_accepted(client: Client, microsoft: MicrosoftSettings,
                                                        user_id: Any) -> None:
    _, raw = ApiKey.issue("job")
    response = post(client, URL, {**GET_ADELE, "auth_user_id": user_id}, raw)
    # Taken as an id, and looked up: no such member.
    assert response.json()["error"]["message"] == f"auth_user_id {int(user_id)} is not a platform user."


@pytest.mark.parametrize(("allowed", "runs", "refused"), [
    ("users.*", ["users.get", "users.list", "users.request"], ["calendar.list_events", "usersx.get"]),
    ("calendar.*\nusers.get", ["users.get", "calendar.get_event"], ["users.list"]),
    ("users.get, calendar.list_events", ["users.get", "calendar.list_events"], ["users.list", "calendar.get_event"]),
    (" users.list ,\n\n users.get ", ["users.get", "users.list"], ["users.request"]),
    ("users", [], ["users.get"]),
    ("", ["users.get", "calendar.get_event"], []),
])
def test_a_key_runs_the_functions_and_families_it_lists(allowed: str, runs: list[str], refused: list[str]) -> None:
    key = ApiKey(allowed_functions=allowed)
    assert [f for f in runs + refused if key.allows(f)] == runs


def test_a_key_limited_to_a_family_is_refused_other_functions_over_http(client: Client,
                                                                       microsoft: MicrosoftSettings) -> None:
    _, raw = ApiKey.issue("calendar job", allowed_functions="calendar.*, users.list")
    assert error_of(post(client, URL, GET_ADELE, raw)) == (403, "PermissionDenied")
    assert post(client, "/api/functions/users.list/execute", {"params": {"limit": 1}}, raw).status_code == 200


def test_using_a_key_stamps_that_key_only(client: Client, microsoft: MicrosoftSettings) -> None:
    used, raw = ApiKey.issue("used")
    idle, _ = ApiKey.issue("idle")
    stale = timezone.now() - timedelta(hours=1)
    old, _ = ApiKey.issue("used an hour ago")
    ApiKey.objects.filter(pk=old.pk).update(last_used_at=stale)
    assert post(client, URL, GET_ADELE, raw).status_code == 200
    used.refresh_from_db()
    assert used.last_used_at is not None and timezone.now() - used.last_used_at < timedelta(seconds=30)
    assert ApiKey.objects.get(pk=idle.pk).last_used_at is None
    assert ApiKey.objects.get(pk=old.pk).last_used_at == stale


def test_a_key_used_an_hour_ago_is_stamped_again(client: Client, microsoft: MicrosoftSettings) -> None:
    key, raw = ApiKey.issue("job")
    stale = timezone.now() - timedelta(hours=1)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=stale)
    ApiKey.authenticate(raw)
    key.refresh_from_db()
    assert key.last_used_at is not None and key.last_used_at > stale + timedelta(minutes=59)


def test_a_revoked_key_is_not_authenticated(db: None) -> None:
    key, raw = ApiKey.issue("job")
    assert ApiKey.authenticate(raw) == key
    key.revoked_at = timezone.now()
    key.save()
    assert ApiKey.authenticate(raw) is None
    assert ApiKey.authenticate(raw + "x") is None


def test_a_stamp_another_process_wrote_within_the_minute_is_kept(db: None) -> None:
    key, _ = ApiKey.issue("job")
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now() - timedelta(minutes=2))
    seen_here = ApiKey.objects.get(pk=key.pk)  # this process read it two minutes after its last use
    recent = timezone.now() - timedelta(seconds=10)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=recent)  # meanwhile another process used it
    seen_here.mark_used()
    assert ApiKey.objects.get(pk=key.pk).last_used_at == recent
