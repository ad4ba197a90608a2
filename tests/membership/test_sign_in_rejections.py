"""Bad callbacks and Microsoft's refusals: each leaves no session and no stored token."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from membership.models import MicrosoftAccount, MicrosoftSettings
from tests.support.browser import MemberBrowser
from tests.support.members import callback_url_for, seeded_user


def assert_nothing_kept(live_server: Any, member: MemberBrowser) -> None:
    assert MicrosoftAccount.objects.count() == 0
    assert member.get(f"{live_server.url}/account/").url.startswith(f"{live_server.url}/signin/")


def failure_code(page: Any) -> str:
    assert page.status_code == 400, page.text[:500]
    return page.text.split("Error code: <code>")[1].split("</code>")[0]


def test_a_tampered_state_is_rejected(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    url = callback_url_for(live_server, member, emulator)
    query = parse_qs(urlsplit(url).query)
    query["state"] = ["forged" + query["state"][0][6:]]
    page = member.get(f"{live_server.url}/auth/microsoft/callback/?{urlencode(query, doseq=True)}")
    assert failure_code(page) == "state_mismatch"
    assert "Start sign-in again" in page.text
    assert_nothing_kept(live_server, member)


def test_a_replayed_code_is_rejected(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    url = callback_url_for(live_server, member, emulator)
    assert member.get(url).url == f"{live_server.url}/account/"
    MicrosoftAccount.objects.all().delete()
    attacker = MemberBrowser(emulator.ca_file)
    # Same browser: the flow was used up. Another browser: it never had the flow.
    assert failure_code(member.get(url)) == "state_mismatch"
    assert failure_code(attacker.get(url)) == "state_mismatch"
    assert MicrosoftAccount.objects.count() == 0


def test_a_code_redeemed_twice_at_the_authority_is_invalid_grant(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    # Start two flows in one session, then feed the first flow's code to the second flow's state.
    first = callback_url_for(live_server, member, emulator)
    code = parse_qs(urlsplit(first).query)["code"][0]
    member.get(first)
    second = callback_url_for(live_server, member, emulator)
    query = parse_qs(urlsplit(second).query)
    query["code"] = [code]
    MicrosoftAccount.objects.all().delete()
    page = member.get(f"{live_server.url}/auth/microsoft/callback/?{urlencode(query, doseq=True)}")
    assert failure_code(page) == "invalid_grant"
    assert MicrosoftAccount.objects.count() == 0


@pytest.mark.parametrize(("tamper", "code"), [
    ({"nonce": "0" * 64}, "user_profile_failed"),
    ({"rogue_key": True}, "user_profile_failed"),
    ({"aud": "00000000-0000-0000-0000-000000000001"}, "user_profile_failed"),
    ({"iss": "https://evil.example/tenant/v2.0"}, "user_profile_failed"),
    ({"exp": 1_000_000_000}, "user_profile_failed"),
    ({"tid": "0badc0de-0000-4000-8000-000000000001"}, "user_profile_failed"),  # another tenant under our issuer
    ({"tid": 12345}, "user_profile_failed"),
    ({"tid": None}, "user_profile_failed"),
])
def test_a_bad_id_token_is_rejected(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings, tamper: dict, code: str) -> None:
    emulator.emulator.id_token_tamper = tamper
    url = callback_url_for(live_server, member, emulator)
    assert failure_code(member.get(url)) == code
    assert_nothing_kept(live_server, member)


def test_a_tenant_outside_the_allow_list_is_rejected(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    microsoft.tenant = "organizations"
    microsoft.allowed_tenant_ids = emulator.info["second_tenant_id"]
    microsoft.save()
    url = callback_url_for(live_server, member, emulator, "lee")
    page = member.get(url)
    assert failure_code(page) == "tenant_not_allowed"
    assert "Allowed tenant IDs" in page.text
    assert_nothing_kept(live_server, member)


def test_a_tenant_on_the_allow_list_signs_in_through_organizations(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    microsoft.tenant = "organizations"
    microsoft.allowed_tenant_ids = f"{emulator.info['tenant_id']}\n{emulator.info['second_tenant_id']}"
    microsoft.save()
    fiona = seeded_user(emulator, "fiona", tenant=1)
    member.get(f"{live_server.url}/auth/microsoft/login/")
    member.pick_user(fiona["id"])
    if "decision" in member.page.text:
        member.accept()
    assert member.page.url == f"{live_server.url}/account/"
    account = MicrosoftAccount.objects.get()
    assert account.tenant_id == emulator.info["second_tenant_id"]


def test_declined_consent_says_so(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    microsoft.default_scopes = "User.Read Calendars.Read.Shared"
    microsoft.save()
    member.get(f"{live_server.url}/auth/microsoft/login/")
    member.pick_user(seeded_user(emulator, "alex")["id"])
    page = member.decline()
    assert failure_code(page) == "consent_declined"
    assert "choose Accept" in page.text
    assert_nothing_kept(live_server, member)


def test_a_scope_needing_admin_consent_offers_the_admin_consent_link(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    microsoft.default_scopes = "User.Read.All"
    microsoft.save()
    member.get(f"{live_server.url}/auth/microsoft/login/")
    member.pick_user(seeded_user(emulator, "alex")["id"])
    page = member.press("decision", "return")
    assert failure_code(page) == "admin_consent_required"
    assert "/auth/microsoft/admin-consent/" in page.text
    assert_nothing_kept(live_server, member)


def test_a_wrong_client_secret_goes_to_the_failure_url_with_invalid_client(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    microsoft.client_secret = "not-the-secret"
    microsoft.failure_url = f"{live_server.url}/signin/"
    microsoft.save()
    url = callback_url_for(live_server, member, emulator)
    page = member.get(url)
    assert page.url == f"{live_server.url}/signin/?f=invalid_client"
    assert_nothing_kept(live_server, member)


def test_an_expired_client_secret_is_named(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    from emulator.seed import EXPIRED_CLIENT_SECRET

    microsoft.client_secret = EXPIRED_CLIENT_SECRET
    microsoft.save()
    page = member.get(callback_url_for(live_server, member, emulator))
    assert failure_code(page) == "secret_expired"
    assert "Create a new client secret" in page.text


def test_a_callback_without_a_flow_in_the_session_is_rejected(live_server: Any, member: MemberBrowser, microsoft: MicrosoftSettings) -> None:
    page = member.get(f"{live_server.url}/auth/microsoft/callback/?code=abc&state=xyz")
    assert failure_code(page) == "state_mismatch"
    assert_nothing_kept(live_server, member)


def test_an_unknown_tenant_is_explained(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    microsoft.tenant = "00000000-0000-0000-0000-00000000dead"
    microsoft.save()
    page = member.get(f"{live_server.url}/auth/microsoft/login/")
    assert failure_code(page) == "tenant_not_found"


def test_sign_in_is_refused_while_disabled(live_server: Any, member: MemberBrowser, microsoft: MicrosoftSettings) -> None:
    microsoft.enabled = False
    microsoft.save()
    assert failure_code(member.get(f"{live_server.url}/auth/microsoft/login/")) == "disabled"


def test_the_callback_takes_only_the_query_response_mode(live_server: Any, member: MemberBrowser, emulator: Any,
                                                         microsoft: MicrosoftSettings) -> None:
    url = callback_url_for(live_server, member, emulator)
    params = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    # The same answer posted (response_mode=form_post, which the flow never asks for) is refused...
    # (by the CSRF check, as any cross-site POST; a same-site one by the method)
    assert member.post(f"{live_server.url}/auth/microsoft/callback/", params).status_code in (403, 405)
    assert MicrosoftAccount.objects.count() == 0
    # ...and the flow it belongs to still completes the way it was asked for.
    assert member.get(url).url == f"{live_server.url}/account/"
    assert MicrosoftAccount.objects.count() == 1


@pytest.mark.parametrize(("path", "spec"), [
    ("/*/discovery/v2.0/keys", {"kind": "status", "status": 503}),
    ("/*/discovery/v2.0/keys", {"kind": "reset"}),
    ("/*/v2.0/.well-known/openid-configuration", {"kind": "status", "status": 503}),
    ("/*/v2.0/.well-known/openid-configuration", {"kind": "reset"}),
])
def test_an_authority_outage_at_the_callback_is_access_token_failed(
        live_server: Any, member: MemberBrowser, emulator: Any, http_emulator: Any, microsoft: MicrosoftSettings,
        path: str, spec: dict[str, Any]) -> None:
    from django.core.cache import cache

    url = callback_url_for(live_server, member, emulator)
    cache.clear()  # the callback must fetch discovery and keys now (they are cached for a day)
    http_emulator.post(f"{emulator.base_url}/_emulator/faults", json={"path": path, "count": 1, **spec})
    page = member.get(url)
    assert page.status_code == 503, page.text[:300]  # Microsoft is at fault: not a 500, not "tenant not found"
    assert "Error code: <code>access_token_failed</code>" in page.text
    assert_nothing_kept(live_server, member)
    # Nothing broken was cached: the next sign-in works.
    assert member.get(callback_url_for(live_server, member, emulator)).url == f"{live_server.url}/account/"



@pytest.mark.parametrize(("azp", "accepted"), [(None, False), ("00000000-0000-0000-0000-000000000009", False),
                                               ("client", True)])
def test_an_id_token_for_several_audiences_needs_this_client_as_azp(
        live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings, azp: str | None,
        accepted: bool) -> None:
    tamper: dict[str, Any] = {"aud": [microsoft.client_id, "00000000-0000-0000-0000-000000000009"]}
    if azp is not None:
        tamper["azp"] = microsoft.client_id if azp == "client" else azp
    emulator.emulator.id_token_tamper = tamper
    page = member.get(callback_url_for(live_server, member, emulator))
    if accepted:
        assert page.url == f"{live_server.url}/account/"
    else:
        assert failure_code(page) == "user_profile_failed"
        assert_nothing_kept(live_server, member)


@pytest.mark.parametrize("error", ["Your account is locked. Call 555-0100", "access_denied", "server_error"])
def test_the_failure_page_shows_only_the_sites_own_words(live_server: Any, member: MemberBrowser, emulator: Any,
                                                          microsoft: MicrosoftSettings, error: str) -> None:
    lure = "Your account is locked. Call 555-0100 and give your password"
    page = member.get(f"{live_server.url}/auth/microsoft/callback/?" + urlencode(
        {"error": error, "error_description": f"AADSTS50053: {lure}", "state": "whatever"}))
    assert page.status_code == 400
    assert "555-0100" not in page.text and "password" not in page.text
    assert "(AADSTS50053)" in page.text  # Microsoft's number may be shown, not its words


def test_an_unknown_error_code_from_the_browser_is_not_shown(live_server: Any, member: MemberBrowser,
                                                            microsoft: MicrosoftSettings) -> None:
    page = member.get(f"{live_server.url}/auth/microsoft/callback/?" + urlencode(
        {"error": "Your account is locked. Call 555-0100", "state": "whatever"}))
    assert page.status_code == 400 and "<code>access_token_failed</code>" in page.text
    assert "555-0100" not in page.text
