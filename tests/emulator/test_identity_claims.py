"""The directory in id_tokens (roles, groups, wids, the groups overage indicator) and who may sign in."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import jwt
import msal
import requests

from emulator.seed import GLOBAL_ADMIN
from emulator.server import RunningEmulator

REDIRECT = "http://localhost/auth/microsoft/callback/"


def _ctl(emulator: RunningEmulator, path: str) -> str:
    return f"{emulator.base_url}/_emulator{path}"


def _sign_in(emulator: RunningEmulator, msal_client: msal.ConfidentialClientApplication, http: requests.Session,
             upn: str) -> dict[str, Any]:
    """MSAL's authorization code flow for ``upn`` (the emulator approves without pages)."""
    http.post(_ctl(emulator, "/settings"), json={"auto_approve": True})
    flow = msal_client.initiate_auth_code_flow(["User.Read"], redirect_uri=REDIRECT, login_hint=upn)
    answer = http.get(flow["auth_uri"], allow_redirects=False)
    params = {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["location"]).query).items()}
    if "error" in params:
        return params
    return dict(msal_client.acquire_token_by_auth_code_flow(flow, params))


def _refresh(emulator: RunningEmulator, http: requests.Session, refresh_token: str) -> requests.Response:
    """A refresh straight to the token endpoint: MSAL holds back a refresh token that just failed with
    invalid_grant (its throttling cache), which would hide a re-enabled account."""
    return http.post(f"{emulator.base_url}/{emulator.info['tenant_id']}/oauth2/v2.0/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token, "scope": "openid User.Read",
        "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"]})


def _claims(result: dict[str, Any]) -> dict[str, Any]:
    assert "id_token" in result, result
    return dict(jwt.decode(result["id_token"], options={"verify_signature": False}))


def _group(http: requests.Session, emulator: RunningEmulator, name: str, *members: str) -> str:
    gid = str(http.post(_ctl(emulator, "/groups"), json={"displayName": name}).json()["id"])
    for member in members:
        assert http.post(_ctl(emulator, f"/groups/{gid}/members"), json={"id": member}).ok
    return gid


def test_roles_come_from_direct_and_group_assignments(emulator: RunningEmulator, msal_client: msal.ConfidentialClientApplication,
                                                      http_emulator: requests.Session) -> None:
    client_id = emulator.info["client_id"]
    editors = _group(http_emulator, emulator, "Editors", "lidia@contoso.test")
    assert http_emulator.post(_ctl(emulator, f"/groups/{editors}/app-role-assignments"),
                              json={"clientId": client_id, "value": "Editor"}).status_code == 201
    assert http_emulator.post(_ctl(emulator, "/users/lidia@contoso.test/app-role-assignments"),
                              json={"value": "Reader"}).status_code == 201
    claims = _claims(_sign_in(emulator, msal_client, http_emulator, "lidia@contoso.test"))
    assert sorted(claims["roles"]) == ["Editor", "Reader"]
    assert editors in claims["groups"]
    assert http_emulator.delete(_ctl(emulator, f"/groups/{editors}/app-role-assignments/Editor")).ok
    assert _claims(_sign_in(emulator, msal_client, http_emulator, "lidia@contoso.test"))["roles"] == ["Reader"]


def test_a_role_defined_through_the_control_api_can_be_assigned(emulator: RunningEmulator,
                                                               msal_client: msal.ConfidentialClientApplication,
                                                               http_emulator: requests.Session) -> None:
    client_id = emulator.info["client_id"]
    created = http_emulator.post(_ctl(emulator, f"/apps/{client_id}/app-roles"), json={"value": "Treasurer"})
    assert created.status_code == 201 and created.json()["id"] and created.json()["isEnabled"] is True
    unknown = http_emulator.post(_ctl(emulator, "/users/lee@contoso.test/app-role-assignments"), json={"value": "Nope"})
    assert unknown.status_code == 400
    assert http_emulator.post(_ctl(emulator, "/users/lee@contoso.test/app-role-assignments"),
                              json={"value": "Treasurer"}).status_code == 201
    assert _claims(_sign_in(emulator, msal_client, http_emulator, "lee@contoso.test"))["roles"] == ["Treasurer"]


def test_groups_are_transitive_and_claims_left_out_when_empty(emulator: RunningEmulator,
                                                             msal_client: msal.ConfidentialClientApplication,
                                                             http_emulator: requests.Session) -> None:
    inner = _group(http_emulator, emulator, "Inner", "johanna@contoso.test")
    outer = _group(http_emulator, emulator, "Outer", inner)
    claims = _claims(_sign_in(emulator, msal_client, http_emulator, "johanna@contoso.test"))
    assert {inner, outer} <= set(claims["groups"]) and "roles" not in claims and "wids" not in claims
    assert http_emulator.post(_ctl(emulator, "/users/bulk"), json={"count": 1, "prefix": "solo"}).ok
    solo = _claims(_sign_in(emulator, msal_client, http_emulator, "solo00001@contoso.test"))
    assert "groups" not in solo and "_claim_names" not in solo and "roles" not in solo


def test_directory_roles_come_as_wids(emulator: RunningEmulator, msal_client: msal.ConfidentialClientApplication,
                                      http_emulator: requests.Session) -> None:
    assert _claims(_sign_in(emulator, msal_client, http_emulator, "adele@contoso.test"))["wids"] == [GLOBAL_ADMIN]
    assert http_emulator.post(_ctl(emulator, "/users/lee@contoso.test/directory-roles"),
                              json={"roleTemplateId": GLOBAL_ADMIN}).status_code == 201
    assert _claims(_sign_in(emulator, msal_client, http_emulator, "lee@contoso.test"))["wids"] == [GLOBAL_ADMIN]
    assert http_emulator.delete(_ctl(emulator, f"/users/lee@contoso.test/directory-roles/{GLOBAL_ADMIN}")).ok
    assert "wids" not in _claims(_sign_in(emulator, msal_client, http_emulator, "lee@contoso.test"))


def test_past_the_limit_the_groups_claim_becomes_the_overage_indicator(
        emulator: RunningEmulator, msal_client: msal.ConfidentialClientApplication, http_emulator: requests.Session) -> None:
    assert http_emulator.post(_ctl(emulator, "/settings"), json={"groups_claim_limit": 3}).ok
    lee = emulator.emulator.user(emulator.emulator.tenant("contoso.test"), "lee@contoso.test")  # type: ignore[arg-type]
    assert lee is not None
    _group(http_emulator, emulator, "One", "lee@contoso.test")  # with Engineering and All Company: 3
    assert len(_claims(_sign_in(emulator, msal_client, http_emulator, "lee@contoso.test"))["groups"]) == 3
    _group(http_emulator, emulator, "Two", "lee@contoso.test")
    claims = _claims(_sign_in(emulator, msal_client, http_emulator, "lee@contoso.test"))
    tid = emulator.info["tenant_id"]
    assert "groups" not in claims
    assert claims["_claim_names"] == {"groups": "src1"}
    assert claims["_claim_sources"] == {
        "src1": {"endpoint": f"https://graph.windows.net/{tid}/users/{lee['id']}/getMemberObjects"}}


def test_a_disabled_user_cannot_sign_in_or_refresh(emulator: RunningEmulator, msal_client: msal.ConfidentialClientApplication,
                                                   http_emulator: requests.Session) -> None:
    signed_in = _sign_in(emulator, msal_client, http_emulator, "diego@contoso.test")
    account = msal_client.get_accounts(username="diego@contoso.test")[0]
    assert http_emulator.post(_ctl(emulator, "/users/diego@contoso.test/disable")).ok
    refused = _sign_in(emulator, msal_client, http_emulator, "diego@contoso.test")
    assert "AADSTS50057" in refused["error_description"]
    refresh = msal_client.acquire_token_by_refresh_token(signed_in["refresh_token"], ["User.Read"])
    assert refresh["error"] == "invalid_grant" and 50057 in refresh["error_codes"]
    assert msal_client.acquire_token_silent_with_error(["User.Read"], account, force_refresh=True)["error"] == "invalid_grant"
    assert http_emulator.post(_ctl(emulator, "/users/diego@contoso.test/enable")).ok
    assert _refresh(emulator, http_emulator, signed_in["refresh_token"]).status_code == 200


def test_a_deleted_user_cannot_refresh_and_a_restored_one_can(emulator: RunningEmulator,
                                                              msal_client: msal.ConfidentialClientApplication,
                                                              http_emulator: requests.Session) -> None:
    signed_in = _sign_in(emulator, msal_client, http_emulator, "megan@contoso.test")
    megan = emulator.emulator.user(emulator.emulator.tenant("contoso.test"), "megan@contoso.test")  # type: ignore[arg-type]
    assert megan is not None
    assert http_emulator.delete(_ctl(emulator, "/users/megan@contoso.test")).ok
    refresh = msal_client.acquire_token_by_refresh_token(signed_in["refresh_token"], ["User.Read"])
    assert refresh["error"] == "invalid_grant" and 50034 in refresh["error_codes"]
    assert "AADSTS50034" in _sign_in(emulator, msal_client, http_emulator, "megan@contoso.test")["error_description"]
    assert http_emulator.post(_ctl(emulator, f"/users/{megan['id']}/restore")).ok
    assert _refresh(emulator, http_emulator, signed_in["refresh_token"]).status_code == 200
