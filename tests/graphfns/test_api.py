"""The HTTP API: catalog, execute in delegated and application mode, the error shape."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

from graphfns.models import ApiKey, FunctionCall
from graphfns.registry import load
from membership.models import MicrosoftSettings
from tests.support.api import post
from tests.support.members import Connect, account_of, seeded_user


@pytest.fixture
def api_key(db: None) -> str:
    return ApiKey.issue("intranet sync")[1]


def test_the_catalog_lists_every_function_with_its_schema(client: Client) -> None:
    response = client.get("/api/functions/")
    assert response.status_code == 200
    functions = response.json()["functions"]
    assert {f["name"] for f in functions} == set(load())
    get = next(f for f in functions if f["name"] == "users.get")
    assert get["params_schema"]["required"] == ["user_id"]
    assert "User.Read" in get["delegated_scopes"]
    assert "User.Read.All" in get["application_permissions"]


def test_one_function_is_described_by_name(client: Client) -> None:
    response = client.get("/api/functions/users.get/")
    assert response.status_code == 200
    assert response.json() == load()["users.get"].describe()


def test_an_unknown_function_is_a_404_in_the_error_shape(client: Client, api_key: str) -> None:
    response = client.get("/api/functions/users.teleport/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "UnknownFunction"
    response = post(client, "/api/functions/users.teleport/execute", {}, api_key)
    assert (response.status_code, response.json()["error"]["code"]) == (404, "UnknownFunction")


def test_other_api_urls_answer_json_not_html(client: Client) -> None:
    response = client.get("/api/nothing/here")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "UnknownFunction"


def test_a_wrong_method_is_405_with_allow(client: Client) -> None:
    response = client.delete("/api/functions/")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    assert response.json()["error"]["code"] == "MethodNotAllowed"


def test_a_member_reads_their_profile_through_their_session(client: Client, connect: Connect) -> None:
    lee = connect("lee")
    client.force_login(lee)
    response = post(client, "/api/functions/users.get/execute", {"params": {"user_id": "me"}})
    assert response.status_code == 200, response.content
    assert response.json()["result"]["userPrincipalName"] == "lee@contoso.test"
    log = FunctionCall.objects.get()
    assert (log.caller, log.mode, log.acting_user) == (f"user:{lee.username}", "delegated", lee)


def test_a_member_may_name_themselves_as_auth_user(client: Client, connect: Connect) -> None:
    lee = connect("lee")
    client.force_login(lee)
    response = post(client, "/api/functions/users.get/execute", {"params": {"user_id": "me"}, "auth_user_id": lee.pk})
    assert response.status_code == 200


def test_an_api_key_acts_for_a_member(client: Client, connect: Connect, api_key: str) -> None:
    lee = connect("lee")
    response = post(client, "/api/functions/calendar.calendar_view/execute", {
        "params": {"user_id": "me", "start": "2020-01-01T00:00:00Z", "end": "2030-01-01T00:00:00Z"},
        "auth_user_id": lee.pk,
    }, api_key)
    assert response.status_code == 200, response.content
    assert "value" in response.json()["result"]
    log = FunctionCall.objects.get()
    assert (log.caller, log.mode, log.acting_user) == ("api-key:intranet sync", "delegated", lee)


def test_an_api_key_calls_as_the_application(client: Client, emulator: Any, microsoft: MicrosoftSettings,
                                             api_key: str) -> None:
    adele = seeded_user(emulator, "adele")
    response = post(client, "/api/functions/users.get/execute",
                    {"params": {"user_id": adele["userPrincipalName"], "select": ["displayName"]}}, api_key)
    assert response.status_code == 200, response.content
    assert response.json()["result"]["displayName"] == "Adele Vance"
    response = post(client, "/api/functions/users.list/execute",
                    {"params": {"limit": 2, "select": ["id"]}, "auth_user_id": None}, api_key)
    assert response.status_code == 200
    assert response.json()["result"]["count"] == 2
    assert set(FunctionCall.objects.values_list("mode", flat=True)) == {"application"}


def test_invalid_params_are_a_validation_error_naming_the_fields(client: Client, microsoft: MicrosoftSettings,
                                                                 api_key: str) -> None:
    response = post(client, "/api/functions/users.get/execute", {"params": {"colour": "blue"}}, api_key)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "ValidationError"
    assert {e["field"] for e in error["details"]["errors"]} >= {"user_id"}


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", b"\xff\xfe", '"params"'])
def test_a_malformed_body_is_a_validation_error(client: Client, api_key: str, body: Any) -> None:
    response = post(client, "/api/functions/users.get/execute", body, api_key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ValidationError"


def test_unknown_body_fields_are_refused(client: Client, api_key: str) -> None:
    response = post(client, "/api/functions/users.get/execute", {"user_id": "me"}, api_key)
    assert response.status_code == 400
    assert "params" in response.json()["error"]["message"]


@pytest.mark.parametrize("auth_user_id", ["lee", True, 1.5, [1], -3, 0, 2**63, 10**30])
def test_a_malformed_auth_user_id_is_a_validation_error(client: Client, api_key: str, auth_user_id: Any) -> None:
    response = post(client, "/api/functions/users.get/execute",
                    {"params": {"user_id": "me"}, "auth_user_id": auth_user_id}, api_key)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ValidationError"


def test_a_missing_scope_is_scope_invalid_with_the_reconnect_url(client: Client, connect: Connect) -> None:
    lee = connect("lee", scopes=["User.Read"])
    account = account_of(lee)
    account.granted_scopes = "User.Read"
    account.save()
    client.force_login(lee)
    response = post(client, "/api/functions/calendar.calendar_view/execute",
                    {"params": {"user_id": "me", "start": "2026-01-01", "end": "2026-02-01"}})
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "ScopeInvalid"
    assert error["details"]["reconnect_url"].startswith("/auth/microsoft/")
    assert "Calendars.Read" in error["details"]["missing_scopes"]


def test_no_token_or_secret_appears_in_a_response(client: Client, connect: Connect, api_key: str,
                                                  microsoft: MicrosoftSettings) -> None:
    lee = connect("lee")
    response = post(client, "/api/functions/users.get/execute", {"params": {"user_id": "me"}, "auth_user_id": lee.pk},
                    api_key)
    text = response.content.decode()
    assert microsoft.client_secret not in text
    assert api_key not in text
    assert "eyJ" not in text  # no JWT


@pytest.mark.parametrize(("spec", "status", "code"), [
    ({"kind": "reset"}, 503, "UpstreamUnavailable"),
    ({"kind": "status", "status": 503}, 503, "UpstreamUnavailable"),
    ({"kind": "latency", "latency_ms": 10_000}, 504, "Timeout"),
])
def test_an_authority_outage_answers_the_api_caller_with_a_catalog_code(
        client: Client, api_key: str, microsoft: MicrosoftSettings, emulator: Any, http_emulator: Any, settings: Any,
        spec: dict[str, Any], status: int, code: str) -> None:
    from django.core.cache import cache

    from graphfns.app_tokens import AppTokenCache
    from membership import identity

    settings.MICROSOFT_READ_TIMEOUT = 1
    AppTokenCache(microsoft).clear()
    identity._apps.clear()  # a process that has not fetched the OpenID configuration yet
    identity._http_cache.clear()
    cache.clear()
    try:
        http_emulator.post(f"{emulator.base_url}/_emulator/faults", json={"path": "/*/v2.0/.well-known/*", "rate": 1,
                                                                           **spec})
        response = post(client, "/api/functions/users.get/execute", {"params": {"user_id": "adele@contoso.test"}},
                        key=api_key)
    finally:
        identity._apps.clear()
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code
    assert FunctionCall.objects.get().error_code == code


PATCH_LEE = '{"params": {"method": "PATCH", "path": "/users/lee@contoso.test", "body": %s}}'


@pytest.mark.parametrize("name, body", [
    ("users.request", PATCH_LEE % ('{"jobTitle": ' + "[" * 100_000 + "]" * 100_000 + "}")),
    ("users.request", PATCH_LEE % ('{"jobTitle": ' + "[" * 200 + "]" * 200 + "}")),
    ("users.get", '{"params": {"user_id": "me"}, "auth_user_id": ' + "[" * 100_000 + "]" * 100_000 + "}"),
    ("users.request", PATCH_LEE % '{"jobTitle": NaN}'),
    ("users.request", PATCH_LEE % '{"jobTitle": "CTO", "x": [Infinity]}'),
    ("users.request", PATCH_LEE % '{"jobTitle": -Infinity}'),
    ("users.request", PATCH_LEE % '{"jobTitle": 1e999}'),
    ("users.get", '{"params": {"user_id": "lee\\ud800@contoso.test"}}'),
    ("users.request", '{"params": {"method": "GET", "path": "/users/lee\\udc00@contoso.test"}}'),
    ("users.request", PATCH_LEE % '{"jobTitle": "\\ud83d"}'),
    ("users.request", PATCH_LEE % '{"\\udfff": "CTO"}'),
    ("users.get", '{"params": {"user_id": "adele@contoso.test"}, "idempotency_key": "\\ud800"}'),
    ("calendar.find_meeting_times", '{"params": {"user_id": "lee@contoso.test", "start": "2026-12-01T09:00:00Z", '
                                    '"end": "2026-12-01T17:00:00Z", "minimum_attendee_percentage": NaN}}'),
], ids=["deep-body", "200-levels", "deep-auth-user-id", "nan", "infinity-in-list", "minus-infinity",
       "overflowing-number", "surrogate-user-id", "surrogate-path", "surrogate-in-body", "surrogate-key",
       "surrogate-idempotency-key", "nan-param"])
def test_malformed_input_is_a_validation_error_without_an_error_log(
        name: str, body: str, client: Client, emulator: Any, microsoft: MicrosoftSettings, api_key: str,
        caplog: pytest.LogCaptureFixture) -> None:
    emulator.emulator.requests.clear()
    response = post(client, f"/api/functions/{name}/execute", body, api_key)
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "ValidationError"
    assert isinstance(error["message"], str) and error["details"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert sum(n for key, n in emulator.emulator.requests.items() if " /v1.0" in key) == 0
