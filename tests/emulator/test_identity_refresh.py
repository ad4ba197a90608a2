"""Refresh tokens: rotation, strict rotation, inactivity expiry, revocation, consent withdrawal."""

from __future__ import annotations

import jwt

from tests.emulator.browser import APP_REDIRECT, Browser, authorize_url


def _sign_in(emu, http, user="Diego Siciliani", scope="openid profile offline_access User.Read"):
    url = authorize_url(emu.base_url, emu.info["tenant_id"], emu.info["client_id"], scope=scope)
    browser = Browser(http, emu.base_url)
    step = browser.press(browser.open(url), f"Sign in as {user}")
    if not step.at_app:  # first time for these scopes: the consent page
        step = browser.press(step, "Accept")
    code = step.callback["code"]
    body = http.post(f"{emu.base_url}/{emu.info['tenant_id']}/oauth2/v2.0/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": APP_REDIRECT,
        "client_id": emu.info["client_id"], "client_secret": emu.info["client_secret"]}).json()
    return body["refresh_token"]


def _refresh(emu, http, rt, scope="openid offline_access User.Read", tenant=None):
    return http.post(f"{emu.base_url}/{tenant or emu.info['tenant_id']}/oauth2/v2.0/token", data={
        "grant_type": "refresh_token", "refresh_token": rt, "scope": scope,
        "client_id": emu.info["client_id"], "client_secret": emu.info["client_secret"]})


def test_a_refresh_token_gives_new_tokens_and_a_new_refresh_token(emu, http):
    rt = _sign_in(emu, http)
    resp = _refresh(emu, http, rt)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["refresh_token"] != rt and body["access_token"] and body["id_token"]
    assert emu.emulator.grants["refresh_token"] == 1


def test_without_strict_rotation_the_old_refresh_token_keeps_working(emu, http):
    rt = _sign_in(emu, http)
    assert _refresh(emu, http, rt).status_code == 200
    assert _refresh(emu, http, rt).status_code == 200


def test_with_strict_rotation_a_redeemed_refresh_token_is_dead(emu, http):
    emu.emulator.strict_rotation = True
    rt = _sign_in(emu, http)
    new_rt = _refresh(emu, http, rt).json()["refresh_token"]
    dead = _refresh(emu, http, rt)
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"
    assert _refresh(emu, http, new_rt).status_code == 200


def test_a_refresh_token_unused_for_ninety_days_expires_with_aadsts700082(emu, http):
    rt = _sign_in(emu, http)
    emu.emulator.clock_offset = 91 * 86400
    body = _refresh(emu, http, rt).json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [700082]


def test_using_a_refresh_token_resets_the_inactivity_window(emu, http):
    rt = _sign_in(emu, http)
    emu.emulator.clock_offset = 60 * 86400
    rt2 = _refresh(emu, http, rt).json()["refresh_token"]
    emu.emulator.clock_offset = 120 * 86400
    assert _refresh(emu, http, rt2).status_code == 200
    assert _refresh(emu, http, rt).json()["error_codes"] == [700082]


def test_a_revoked_grant_fails_with_aadsts50173_until_the_user_signs_in_again(emu, http):
    rt = _sign_in(emu, http)
    resp = http.post(f"{emu.base_url}/_emulator/users/diego@contoso.test/invalid-grant", json={"code": 50173})
    assert resp.status_code == 200
    body = _refresh(emu, http, rt).json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [50173]
    assert "revoked" in body["error_description"]
    fresh = _sign_in(emu, http)
    assert _refresh(emu, http, fresh).status_code == 200


def test_a_forced_failure_can_be_undone(emu, http):
    rt = _sign_in(emu, http)
    http.post(f"{emu.base_url}/_emulator/users/diego@contoso.test/invalid-grant", json={"code": 700082})
    assert _refresh(emu, http, rt).json()["error_codes"] == [700082]
    undo = http.delete(f"{emu.base_url}/_emulator/users/diego@contoso.test/invalid-grant")
    assert undo.json()["removed"] is True
    assert _refresh(emu, http, rt).status_code == 200


def test_a_forced_consent_failure_is_aadsts65001(emu, http):
    rt = _sign_in(emu, http)
    http.post(f"{emu.base_url}/_emulator/users/diego@contoso.test/invalid-grant", json={"code": 65001})
    assert _refresh(emu, http, rt).json()["error_codes"] == [65001]


def test_withdrawn_user_consent_stops_the_refresh_token_with_aadsts65001(emu, http):
    rt = _sign_in(emu, http, user="Alex Wilber", scope="openid offline_access Calendars.Read")
    assert _refresh(emu, http, rt, scope="offline_access Calendars.Read").status_code == 200
    withdrawn = http.delete(f"{emu.base_url}/_emulator/users/alex@contoso.test/consent").json()
    assert withdrawn["withdrawn"][emu.info["client_id"]] == ["Calendars.Read"]
    body = _refresh(emu, http, rt, scope="offline_access Calendars.Read").json()
    assert body["error"] == "invalid_grant" and body["error_codes"] == [65001]


def test_a_refresh_may_ask_for_a_subset_but_not_for_unconsented_scopes(emu, http):
    rt = _sign_in(emu, http)
    ok = _refresh(emu, http, rt, scope="User.Read")
    assert ok.status_code == 200 and "id_token" not in ok.json()
    assert "User.Read" in jwt.decode(ok.json()["access_token"], options={"verify_signature": False})["scp"].split()
    more = _refresh(emu, http, rt, scope="Directory.Read.All").json()
    assert more["error"] == "invalid_grant" and more["error_codes"] == [65001]


def test_a_refresh_token_works_on_common_but_not_in_another_tenant(emu, http):
    rt = _sign_in(emu, http)
    assert _refresh(emu, http, rt, tenant="common").status_code == 200
    assert _refresh(emu, http, rt, tenant=emu.info["second_tenant_id"]).json()["error"] == "invalid_grant"


def test_msal_silent_refresh_uses_the_refresh_token(emu, msal_app, http):
    emu.emulator.auto_approve = True
    flow = msal_app.initiate_auth_code_flow(["User.Read"], redirect_uri=APP_REDIRECT, login_hint="lee@contoso.test")
    callback = Browser(http, emu.base_url).open(flow["auth_uri"]).callback
    msal_app.acquire_token_by_auth_code_flow(flow, callback)
    (account,) = msal_app.get_accounts()
    result = msal_app.acquire_token_silent(["User.Read"], account=account, force_refresh=True)
    assert result and "access_token" in result, result
    assert emu.emulator.grants["refresh_token"] == 1
