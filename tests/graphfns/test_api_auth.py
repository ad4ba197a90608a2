"""Who may call the API, as whom: API keys, sessions, CSRF."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from graphfns.models import ApiKey, FunctionCall
from membership.models import MicrosoftSettings
from tests.support.api import post
from tests.support.members import Connect

GET_ME = {"params": {"user_id": "me"}}
GET_ADELE = {"params": {"user_id": "adele@contoso.test"}}


def error_of(response: Any) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"]


def test_no_credentials_is_authentication_required(client: Client, microsoft: MicrosoftSettings) -> None:
    assert error_of(post(client, "/api/functions/users.get/execute", GET_ADELE)) == (401, "AuthenticationRequired")
    assert not FunctionCall.objects.exists()


@pytest.mark.parametrize("header", ["Bearer gfn_not-a-key", "Basic dXNlcjpwYXNz", "Bearer", "gfn_abc"])
def test_a_wrong_key_is_authentication_required(client: Client, microsoft: MicrosoftSettings, header: str) -> None:
    response = post(client, "/api/functions/users.get/execute", GET_ADELE, HTTP_AUTHORIZATION=header)
    assert error_of(response) == (401, "AuthenticationRequired")


def test_a_wrong_key_wins_over_a_valid_session(client: Client, connect: Connect) -> None:
    client.force_login(connect("lee"))
    response = post(client, "/api/functions/users.get/execute", GET_ME, "gfn_not-a-key")
    assert error_of(response) == (401, "AuthenticationRequired")


def test_a_revoked_key_is_authentication_required(client: Client, microsoft: MicrosoftSettings) -> None:
    key, raw = ApiKey.issue("old job")
    assert post(client, "/api/functions/users.get/execute", GET_ADELE, raw).status_code == 200
    key.revoked_at = timezone.now()
    key.save()
    assert error_of(post(client, "/api/functions/users.get/execute", GET_ADELE, raw)) == (401, "AuthenticationRequired")


def test_a_key_runs_only_its_allowed_functions(client: Client, microsoft: MicrosoftSettings) -> None:
    _, raw = ApiKey.issue("calendar sync", allowed_functions="calendar.*\nusers.list")
    assert error_of(post(client, "/api/functions/users.get/execute", GET_ADELE, raw)) == (403, "PermissionDenied")
    response = post(client, "/api/functions/users.list/execute", {"params": {"limit": 1}}, raw)
    assert response.status_code == 200, response.content


def test_a_key_limited_to_users_cannot_read_another_users_events_through_users_request(
        client: Client, emulator: Any, microsoft: MicrosoftSettings) -> None:
    _, raw = ApiKey.issue("directory sync", allowed_functions="users.*")
    emulator.emulator.requests.clear()
    for method, path in (("GET", "/users/megan@contoso.test/events"), ("GET", "/users/megan@contoso.test/calendar"),
                         ("POST", "/users/megan@contoso.test/events")):
        params = {"method": method, "path": path, **({"body": {"subject": "Planted"}} if method == "POST" else {})}
        response = post(client, "/api/functions/users.request/execute", {"params": params}, raw)
        assert error_of(response) == (400, "ValidationError")
        assert response.json()["error"]["details"]["field"] == "path"
    assert sum(n for key, n in emulator.emulator.requests.items() if " /v1.0" in key) == 0
    calendar = {"params": {"method": "GET", "path": "/users/megan@contoso.test/events"}}
    assert error_of(post(client, "/api/functions/calendar.request/execute", calendar, raw)) == (403, "PermissionDenied")


def test_a_delegated_only_key_may_not_call_as_the_application(client: Client, connect: Connect) -> None:
    lee = connect("lee")
    _, raw = ApiKey.issue("member portal", delegated_only=True)
    assert error_of(post(client, "/api/functions/users.get/execute", GET_ADELE, raw)) == (403, "PermissionDenied")
    response = post(client, "/api/functions/users.get/execute", {**GET_ADELE, "auth_user_id": None}, raw)
    assert error_of(response) == (403, "PermissionDenied")
    response = post(client, "/api/functions/users.get/execute", {**GET_ME, "auth_user_id": lee.pk}, raw)
    assert response.status_code == 200


def test_a_member_may_not_act_as_another_member(client: Client, connect: Connect) -> None:
    lee, adele = connect("lee"), connect("adele")
    client.force_login(lee)
    response = post(client, "/api/functions/users.get/execute", {**GET_ME, "auth_user_id": adele.pk})
    assert error_of(response) == (403, "PermissionDenied")
    assert not FunctionCall.objects.exists()


def test_a_member_may_not_call_as_the_application(client: Client, connect: Connect) -> None:
    client.force_login(connect("lee"))
    response = post(client, "/api/functions/users.get/execute", {**GET_ADELE, "auth_user_id": None})
    assert error_of(response) == (403, "PermissionDenied")


def test_staff_are_members_too(client: Client, connect: Connect) -> None:
    lee, adele = connect("lee"), connect("adele")
    User.objects.filter(pk=lee.pk).update(is_staff=True)
    client.force_login(lee)
    response = post(client, "/api/functions/users.get/execute", {**GET_ME, "auth_user_id": adele.pk})
    assert error_of(response) == (403, "PermissionDenied")


def test_a_superuser_may_act_for_a_member_and_as_the_application(client: Client, connect: Connect) -> None:
    adele = connect("adele")
    admin = User.objects.create_superuser("root", "root@example.test", "pw-unused-123")
    client.force_login(admin)
    response = post(client, "/api/functions/users.get/execute", {**GET_ME, "auth_user_id": adele.pk})
    assert response.json()["result"]["userPrincipalName"] == "adele@contoso.test"
    response = post(client, "/api/functions/users.get/execute", {**GET_ADELE, "auth_user_id": None})
    assert response.status_code == 200
    assert list(FunctionCall.objects.order_by("created_at").values_list("mode", "caller")) == [
        ("delegated", "user:root"), ("application", "user:root")]


def test_a_session_post_needs_the_csrf_token(connect: Connect) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(connect("lee"))
    response = post(client, "/api/functions/users.get/execute", GET_ME)
    assert error_of(response) == (403, "PermissionDenied")
    assert "CSRF" in response.json()["error"]["message"]
    token = "a" * 32
    client.cookies["csrftoken"] = token
    response = post(client, "/api/functions/users.get/execute", GET_ME, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content


def test_an_api_key_needs_no_csrf_token(microsoft: MicrosoftSettings) -> None:
    client = Client(enforce_csrf_checks=True)
    _, raw = ApiKey.issue("job")
    assert post(client, "/api/functions/users.get/execute", GET_ADELE, raw).status_code == 200


def test_an_inactive_member_is_not_authenticated(client: Client, connect: Connect) -> None:
    lee = connect("lee")
    client.force_login(lee)
    User.objects.filter(pk=lee.pk).update(is_active=False)
    assert error_of(post(client, "/api/functions/users.get/execute", GET_ME)) == (401, "AuthenticationRequired")
