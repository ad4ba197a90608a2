"""Incremental consent for a signed-in member, and organisation-wide admin consent."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from membership.models import MicrosoftAccount, MicrosoftSettings
from tests.support.browser import MemberBrowser
from tests.support.members import seeded_user, sign_in


def test_a_member_grants_one_more_scope_without_losing_the_others(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    sign_in(live_server, member, emulator, "lee")
    member.get(f"{live_server.url}/auth/microsoft/consent/?scopes=Calendars.Read.Shared&next=/account/")
    log = emulator.emulator.runtime["identity"].authorize_log[-1]
    assert {"Calendars.Read.Shared", "User.Read", "Calendars.ReadWrite"} <= set(log["scope"].split())
    assert log["login_hint"] == "lee@contoso.test"
    member.pick_user(seeded_user(emulator, "lee")["id"])
    member.accept()
    assert member.page.url == f"{live_server.url}/account/"
    account = MicrosoftAccount.objects.get()
    assert {"Calendars.Read.Shared", "User.Read", "Calendars.ReadWrite"} <= set(account.granted_scopes.split())


def test_incremental_consent_needs_a_signed_in_member(live_server: Any, member: MemberBrowser, microsoft: MicrosoftSettings) -> None:
    page = member.get(f"{live_server.url}/auth/microsoft/consent/?scopes=Calendars.Read.Shared")
    assert page.url.startswith(f"{live_server.url}/signin/?next=")


def test_incremental_consent_rejects_malformed_scopes(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    sign_in(live_server, member, emulator, "lee")
    page = member.get(f"{live_server.url}/auth/microsoft/consent/?scopes=Calendars%20Read!")
    assert page.status_code == 400
    assert "not a valid scope name" in page.text


def test_a_tenant_admin_grants_consent_for_the_organisation(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    microsoft.default_scopes = "User.Read.All"  # needs an administrator's consent
    microsoft.save()
    admin = MemberBrowser(emulator.ca_file)
    admin.get(f"{live_server.url}/auth/microsoft/admin-consent/")
    admin.pick_user(seeded_user(emulator, "adele")["id"])
    if "decision" in admin.page.text:
        admin.accept()
    assert admin.page.url.startswith(f"{live_server.url}/auth/microsoft/callback/?admin_consent=True")
    assert "Consent granted" in admin.page.text
    assert emulator.info["tenant_id"] in admin.page.text
    # Now an ordinary member signs in without being asked.
    member.get(f"{live_server.url}/auth/microsoft/login/")
    member.pick_user(seeded_user(emulator, "alex")["id"])
    assert member.page.url == f"{live_server.url}/account/", member.page.text[-1500:]
    assert "User.Read.All" in MicrosoftAccount.objects.get().granted_scopes


def test_an_admin_consent_answer_with_a_forged_state_is_refused(live_server: Any, member: MemberBrowser, microsoft: MicrosoftSettings) -> None:
    member.get(f"{live_server.url}/auth/microsoft/admin-consent/", allow_redirects=False)
    page = member.get(f"{live_server.url}/auth/microsoft/callback/?admin_consent=True&tenant=x&state=forged")
    assert page.status_code == 400
    assert "state_mismatch" in page.text


def test_consent_after_disconnecting_does_not_reuse_the_disconnected_account(
        live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    sign_in(live_server, member, emulator, "lee")
    MicrosoftAccount.objects.get().disconnect()
    member.get(f"{live_server.url}/auth/microsoft/consent/?scopes=Calendars.Read.Shared&next=/account/")
    log = emulator.emulator.runtime["identity"].authorize_log[-1]
    assert not log.get("login_hint")  # the disconnected account's name is not offered again
    assert set(log["scope"].split()) >= {"Calendars.Read.Shared", "User.Read", "Calendars.ReadWrite"}


def test_signing_in_again_for_a_claims_challenge_sends_the_claims_to_microsoft(
        live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    sign_in(live_server, member, emulator, "lee")
    claims = json.dumps({"access_token": {"nbf": {"essential": True, "value": "1700000000"}}})
    member.get(f"{live_server.url}/auth/microsoft/consent/?scopes=User.Read&claims={quote(claims)}")
    sent = json.loads(emulator.emulator.runtime["identity"].authorize_log[-1]["claims"])
    assert sent["access_token"]["nbf"] == {"essential": True, "value": "1700000000"}
    assert sent["access_token"]["xms_cc"] == {"values": ["cp1"]}  # MSAL adds the site's capabilities
    bad = member.get(f"{live_server.url}/auth/microsoft/consent/?scopes=User.Read&claims=not-json")
    assert bad.status_code == 400
