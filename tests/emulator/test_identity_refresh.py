"""Refresh tokens: rotation, strict rotation, inactivity expiry, revocation, consent withdrawal."""

from __future__ import annotations

import base64
import json
import re

import jwt
import pytest

from tests.support.browser import APP_REDIRECT, Browser, authorize_url


def _sign_in(emulator, http_emulator, user="Diego Siciliani", scope="openid profile offline_access User.Read"):
    url = authorize_url(emulator.base_url, emulator.info["tenant_id"], emulator.info["client_id"], scope=scope)
    browser = Browser(http_emulator, emulator.base_url)
    step = browser.press(browser.open(url), f"Sign in as {user}")
    if not step.at_app:  # first time for these scopes: the consent page
        step = browser.press(step, "Accept")
    code = step.callback["code"]
    body = http_emulator.post(f"{emulator.base_url}/{emulator.info['tenant_id']}/oauth2/v2.0/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": APP_REDIRECT,
        "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"]}).json()
    return body["refresh_token"]


def _refresh(emulator, http_emulator, rt, scope="openid offline_access User.Read", tenant=None, **extra):
    return http_emulator.post(f"{emulator.base_url}/{tenant or emulator.info['tenant_id']}/oauth2/v2.0/token", data={
        "grant_type": "refresh_token", "refresh_token": rt, "scope": scope,
        "client_id": emulator.info["client_id"], "client_secret": emulator.info["client_secret"], **extra})


def test_a_refresh_token_gives_new_tokens_and_a_new_refresh_token(emulator, http_emulator):
    rt = _sign_in(emulator, http_emulator)
    resp = _refresh(emulator, http_emulator, rt)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["refresh_token"] != rt and body["access_token"] and body["id_token"]
    assert emulator.emulator.grants["refresh_token"] == 1


def test_without_strict_rotation_the_old_refresh_token_keeps_working(emulator, http_emulator):
    rt = _sign_in(emulator, http_emulator)
    assert _refresh(emulator, http_emulator, rt).status_code == 200
    assert _refresh(emulator, http_emulator, rt).status_code == 200


def test_with_strict_rotation_a_redeemed_refresh_token_is_dead(emulator, http_emulator):
    emulator.emulator.strict_rotation = True
    rt = _sign_in(emulator, http_emulator)
    new_rt = _refresh(emulator, http_emulator, rt).json()["refresh_token"]
    dead = _refresh(emulator, http_emulator, rt)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    assert _refresh(emulator, http_emulator, new_rt).status_code == 200


def test_a_refresh_token_unused_for_ninety_days_expires_with_aadsts700082(emulator, http_emulator):
    rt = _sign_in(emulator, http_emulator)
    emulator.emulator.clock_offset = 91 * 86400
    body = _refresh(emulator, http_emulator, rt).json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [700082]


def test_using_a_refresh_token_resets_the_inactivity_window(emulator, http_emulator):
    rt = _sign_in(emulator, http_emulator)
    emulator.emulator.clock_offset = 60 * 86400
    rt2 = _refresh(emulator, http_emulator, rt).json()["refresh_token"]
    emulator.emulator.clock_offset = 120 * 86400
    assert _refresh(emulator, http_emulator, rt2).status_code == 200
    assert _refresh(emulator, http_emulator, rt).json()["error_codes"] == [700082]


def test_a_revoked_grant_fails_with_aadsts50173_until_the_user_signs_in_again(emulator, http_emulator):
    rt = _sign_in(emulator, http_emulator)
    resp = http_emulator.post(f"{emulator.base_url}/_emulator/users/diego@contoso.test/invalid-grant", json={"code": 50173})
    assert resp.status_code == 200
    body = _refresh(emulator, http_emulator, rt).json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [50173]
    assert "revoked" in body["error_description"]
    fresh = _sign_in(emulator, http_emulator)
    assert _refresh(emulator, http_emulator, fresh).status_code == 200


def test_a_forced_failure_can_be_undone(emulator, http_emulator):
    rt = _sign_in(emulator, http_emulator)
    http_emulator.post(f"{emulator.base_url}/_emulator/users/diego@contoso.test/invalid-grant", json={"code": 700082})
    assert _refresh(emulator, http_emulator, rt).json()["error_codes"] == [700082]
    undo = http_emulator.delete(f"{emulator.base_url}/_emulator/users/diego@contoso.test/invalid-grant")
    assert undo.json()["removed"] is True
    assert _refresh(emulator, http_emulator, rt).status_code == 200


def test_a_forced_consent_failure_is_aadsts65001_with_its_suberror(emulator, http_emulator):
    rt = _sign_in(emulator, http_emulator)
    http_emulator.post(f"{emulator.base_url}/_emulator/users/diego@contoso.test/invalid-grant", json={"code": 65001})
    body = _refresh(emulator, http_emulator, rt).json()
    assert body["error_codes"] == [65001] and body["suberror"] == "consent_required"


@pytest.mark.parametrize(("code", "error", "suberror"), [
    (50076, "invalid_grant", "basic_action"), (50079, "interaction_required", "basic_action"),
    (53003, "interaction_required", "message_only"), (70008, "invalid_grant", None)])
def test_mfa_conditional_access_and_expiry_failures_can_be_forced(emulator, http_emulator, code, error, suberror):
    rt = _sign_in(emulator, http_emulator)
    resp = http_emulator.post(f"{emulator.base_url}/_emulator/users/diego@contoso.test/invalid-grant", json={"code": code})
    assert resp.status_code == 200, resp.text
    body = _refresh(emulator, http_emulator, rt).json()
    assert (body["error"], body["error_codes"], body.get("suberror")) == (error, [code], suberror)
    if code == 50076:  # the policy comes back as a claims challenge, as Entra sends it
        assert json.loads(body["claims"])["access_token"]["capolids"]["essential"] is True
        assert "multi-factor authentication" in body["error_description"]


CP1 = json.dumps({"access_token": {"xms_cc": {"values": ["cp1"]}}})


def _me(emulator, http_emulator, token):
    return http_emulator.get(f"{emulator.base_url}/v1.0/me", headers={"Authorization": f"Bearer {token}"})


def _challenge(resp):
    header = resp.headers["WWW-Authenticate"]
    assert 'error="insufficient_claims"' in header, header
    return base64.b64decode(re.search(r'claims="([^"]+)"', header).group(1)).decode()


def test_after_a_critical_event_graph_challenges_cae_capable_tokens_and_a_refresh_with_the_claims_satisfies_it(emulator, http_emulator):
    rt = _sign_in(emulator, http_emulator)
    capable = _refresh(emulator, http_emulator, rt, claims=CP1).json()
    plain = _refresh(emulator, http_emulator, rt).json()
    assert jwt.decode(capable["access_token"], options={"verify_signature": False})["xms_cc"] == ["cp1"]
    assert _me(emulator, http_emulator, capable["access_token"]).status_code == 200
    event = http_emulator.post(f"{emulator.base_url}/_emulator/users/diego@contoso.test/critical-event", json={"kind": "location_changed"})
    assert event.status_code == 200, event.text
    challenged = _me(emulator, http_emulator, capable["access_token"])
    assert challenged.status_code == 401 and challenged.json()["error"]["code"] == "InvalidAuthenticationToken"
    claims = json.loads(_challenge(challenged))
    assert claims["access_token"]["nbf"]["essential"] is True
    assert _me(emulator, http_emulator, plain["access_token"]).status_code == 200  # no cp1: valid until it expires
    claims["access_token"]["xms_cc"] = {"values": ["cp1"]}  # what MSAL merges in
    renewed = _refresh(emulator, http_emulator, capable["refresh_token"], claims=json.dumps(claims))
    assert renewed.status_code == 200, renewed.text
    again = _me(emulator, http_emulator, renewed.json()["access_token"])
    assert again.status_code == 200, again.text


def test_revoked_sessions_challenge_cae_tokens_and_stop_their_refresh_tokens(emulator, http_emulator):
    rt = _sign_in(emulator, http_emulator)
    capable = _refresh(emulator, http_emulator, rt, claims=CP1).json()
    http_emulator.post(f"{emulator.base_url}/_emulator/users/diego@contoso.test/critical-event", json={"kind": "sessions_revoked"})
    claims = _challenge(_me(emulator, http_emulator, capable["access_token"]))
    failed = _refresh(emulator, http_emulator, capable["refresh_token"], claims=claims).json()
    assert failed["error"] == "invalid_grant" and failed["error_codes"] == [50173]


def test_withdrawn_user_consent_stops_the_refresh_token_with_aadsts65001(emulator, http_emulator):
    rt = _sign_in(emulator, http_emulator, user="Alex Wilber", scope="openid offline_access Calendars.Read")
    assert _refresh(emulator, http_emulator, rt, scope="offline_access Calendars.Read").status_code == 200
    withdrawn = http_emulator.delete(f"{emulator.base_url}/_emulator/users/alex@contoso.test/consent").json()
    assert withdrawn["withdrawn"][emulator.info["client_id"]] == ["Calendars.Read"]
    body = _refresh(emulator, http_emulator, rt, scope="offline_access Calendars.Read").json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [65001]


def test_a_refresh_may_ask_for_a_subset_but_not_for_unconsented_scopes(emulator, http_emulator):
    rt = _sign_in(emulator, http_emulator)
    ok = _refresh(emulator, http_emulator, rt, scope="User.Read")
    assert ok.status_code == 200 and "id_token" not in ok.json()
    assert "User.Read" in jwt.decode(ok.json()["access_token"], options={"verify_signature": False})["scp"].split()
    more = _refresh(emulator, http_emulator, rt, scope="Directory.Read.All").json()
    assert more["error"] == "invalid_grant" and more["error_codes"] == [65001]


def test_a_refresh_token_works_on_common_but_not_in_another_tenant(emulator, http_emulator):
    rt = _sign_in(emulator, http_emulator)
    assert _refresh(emulator, http_emulator, rt, tenant="common").status_code == 200
    assert _refresh(emulator, http_emulator, rt, tenant=emulator.info["second_tenant_id"]).json()["error"] == "invalid_grant"


def test_msal_silent_refresh_uses_the_refresh_token(emulator, msal_client, http_emulator):
    emulator.emulator.auto_approve = True
    flow = msal_client.initiate_auth_code_flow(["User.Read"], redirect_uri=APP_REDIRECT, login_hint="lee@contoso.test")
    callback = Browser(http_emulator, emulator.base_url).open(flow["auth_uri"]).callback
    msal_client.acquire_token_by_auth_code_flow(flow, callback)
    (account,) = msal_client.get_accounts()
    result = msal_client.acquire_token_silent(["User.Read"], account=account, force_refresh=True)
    assert result and "access_token" in result, result
    assert emulator.emulator.grants["refresh_token"] == 1
