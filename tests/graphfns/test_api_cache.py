"""POST /api/settings/cache/aad: forget the application token."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.test import Client

from graphfns.models import ApiKey
from membership.models import MicrosoftSettings
from tests.support.api import post

CLEAR = "/api/settings/cache/aad"
APP_CALL = {"params": {"user_id": "adele@contoso.test", "select": ["id"]}}


def test_clearing_the_cache_makes_the_next_application_call_fetch_a_new_token(
        client: Client, emulator: Any, microsoft: MicrosoftSettings) -> None:
    _, raw = ApiKey.issue("ops")
    assert post(client, "/api/functions/users.get/execute", APP_CALL, raw).status_code == 200
    assert post(client, "/api/functions/users.get/execute", APP_CALL, raw).status_code == 200
    fetched = emulator.emulator.grants["client_credentials"]
    assert fetched <= 1  # the second call reused the cached token

    response = post(client, CLEAR, None, raw)
    assert response.status_code == 200
    assert response.json() == {"cleared": True}
    assert post(client, "/api/functions/users.get/execute", APP_CALL, raw).status_code == 200
    assert emulator.emulator.grants["client_credentials"] == fetched + 1

    assert post(client, CLEAR, None, raw).json() == {"cleared": True}
    assert post(client, CLEAR, None, raw).json() == {"cleared": False}  # nothing left to clear


def test_a_delegated_only_key_may_not_clear_the_cache(client: Client, microsoft: MicrosoftSettings) -> None:
    _, raw = ApiKey.issue("portal", delegated_only=True)
    response = post(client, CLEAR, None, raw)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "PermissionDenied")


def test_staff_may_clear_the_cache_members_may_not(client: Client, microsoft: MicrosoftSettings) -> None:
    member = User.objects.create_user("member")
    client.force_login(member)
    assert post(client, CLEAR).status_code == 403
    User.objects.filter(pk=member.pk).update(is_staff=True)
    assert post(client, CLEAR).status_code == 200


def test_clearing_needs_credentials_and_csrf(microsoft: MicrosoftSettings) -> None:
    client = Client(enforce_csrf_checks=True)
    assert post(client, CLEAR).status_code == 401
    client.force_login(User.objects.create_user("boss", is_staff=True))
    response = post(client, CLEAR)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "PermissionDenied")
    assert client.get(CLEAR).status_code == 405
