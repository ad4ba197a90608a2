"""The sign-in flow's own rules: its lifetime, how many may be pending, single use, who it belongs to,
where it sends the member after a failure, and the admin-consent answer."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth import HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.models import User
from django.contrib.sessions.backends.db import SessionStore
from django.test import RequestFactory

from membership import flows
from membership.flows import FLOW_TTL, MAX_PENDING_FLOWS, safe_next
from membership.models import MicrosoftAccount, MicrosoftSettings, SignInMode
from tests.support.browser import MemberBrowser
from tests.support.members import callback_url_for, seeded_user, sign_in


def failure_code(page: Any) -> str:
    assert page.status_code in (400, 503), page.text[:500]
    return page.text.split("Error code: <code>")[1].split("</code>")[0]


def state_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["state"][0]


@pytest.fixture
def later(monkeypatch: pytest.MonkeyPatch) -> Any:
    """later(seconds): the flows' clock runs that far ahead (and only theirs: MSAL and the emulator keep time)."""
    def shift(seconds: float) -> None:
        monkeypatch.setattr(flows, "time", SimpleNamespace(time=lambda: time.time() + seconds))
    return shift


def test_a_flow_completes_within_its_lifetime(live_server: Any, member: MemberBrowser, emulator: Any,
                                              microsoft: MicrosoftSettings, later: Any) -> None:
    url = callback_url_for(live_server, member, emulator)
    later(FLOW_TTL - 30)
    assert member.get(url).url == f"{live_server.url}/account/"


def test_an_expired_flow_is_rejected(live_server: Any, member: MemberBrowser, emulator: Any,
                                     microsoft: MicrosoftSettings, later: Any) -> None:
    url = callback_url_for(live_server, member, emulator)
    later(FLOW_TTL + 30)
    assert failure_code(member.get(url)) == "state_mismatch"
    assert MicrosoftAccount.objects.count() == 0


def test_at_most_five_flows_are_pending_and_the_oldest_goes_first(live_server: Any, member: MemberBrowser,
                                                                   emulator: Any, microsoft: MicrosoftSettings) -> None:
    urls = [callback_url_for(live_server, member, emulator) for _ in range(MAX_PENDING_FLOWS + 1)]
    assert failure_code(member.get(urls[0])) == "state_mismatch"  # evicted by the sixth
    assert member.get(urls[1]).url == f"{live_server.url}/account/"
    assert MicrosoftAccount.objects.count() == 1


def test_five_pending_flows_all_complete(live_server: Any, member: MemberBrowser, emulator: Any,
                                         microsoft: MicrosoftSettings) -> None:
    urls = [callback_url_for(live_server, member, emulator) for _ in range(MAX_PENDING_FLOWS)]
    assert member.get(urls[0]).url == f"{live_server.url}/account/"
    assert member.get(urls[-1]).url == f"{live_server.url}/account/"


def test_expired_flows_make_room_for_new_ones(live_server: Any, member: MemberBrowser, emulator: Any,
                                              microsoft: MicrosoftSettings, later: Any) -> None:
    for _ in range(MAX_PENDING_FLOWS):
        member.get(f"{live_server.url}/auth/microsoft/login/", allow_redirects=False)
    later(FLOW_TTL + 30)
    urls = [callback_url_for(live_server, member, emulator) for _ in range(MAX_PENDING_FLOWS)]
    assert member.get(urls[0]).url == f"{live_server.url}/account/"


def test_a_flow_is_spent_by_an_error_answer(live_server: Any, member: MemberBrowser, emulator: Any,
                                            microsoft: MicrosoftSettings) -> None:
    url = callback_url_for(live_server, member, emulator)
    error = {"error": "access_denied", "error_description": "AADSTS65004: declined", "state": state_of(url)}
    member.get(f"{live_server.url}/auth/microsoft/callback/?{urlencode(error)}")
    assert failure_code(member.get(url)) == "state_mismatch"
    assert MicrosoftAccount.objects.count() == 0


def test_an_error_answer_spends_only_its_own_flow(live_server: Any, member: MemberBrowser, emulator: Any,
                                                  microsoft: MicrosoftSettings) -> None:
    first = callback_url_for(live_server, member, emulator)
    second = callback_url_for(live_server, member, emulator)
    member.get(f"{live_server.url}/auth/microsoft/callback/?"
               + urlencode({"error": "access_denied", "state": state_of(second)}))
    assert member.get(first).url == f"{live_server.url}/account/"


def test_a_valid_state_without_a_code_is_rejected(live_server: Any, member: MemberBrowser, emulator: Any,
                                                  microsoft: MicrosoftSettings) -> None:
    url = callback_url_for(live_server, member, emulator)
    page = member.get(f"{live_server.url}/auth/microsoft/callback/?state={state_of(url)}")
    assert failure_code(page) == "state_mismatch"
    assert MicrosoftAccount.objects.count() == 0


def _sign_in_locally(live_server: Any, browser: MemberBrowser, username: str) -> User:
    user = User.objects.create_user(username, password="a-long-password-1")
    browser.get(f"{live_server.url}/signin/password/")
    browser.post(f"{live_server.url}/signin/password/", {"username": username, "password": "a-long-password-1",
                                                           "csrfmiddlewaretoken": browser.http.cookies["csrftoken"]})
    return user


def test_a_connect_flow_fails_when_the_member_is_no_longer_signed_in(
        live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    pat = _sign_in_locally(live_server, member, "pat")
    url = callback_url_for(live_server, member, emulator)
    User.objects.filter(pk=pat.pk).update(is_active=False)  # the session no longer signs anyone in
    assert failure_code(member.get(url)) == "state_mismatch"
    assert MicrosoftAccount.objects.count() == 0


def test_a_connect_flow_fails_when_another_member_signed_in_meanwhile(
        live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    _sign_in_locally(live_server, member, "pat")
    url = callback_url_for(live_server, member, emulator)
    sam = User.objects.create_user("sam", password="a-long-password-2")
    session = SessionStore(session_key=member.http.cookies["sessionid"])
    session[SESSION_KEY], session[HASH_SESSION_KEY] = str(sam.pk), sam.get_session_auth_hash()
    session.save()
    assert failure_code(member.get(url)) == "state_mismatch"
    assert MicrosoftAccount.objects.count() == 0


def test_a_connect_flow_links_the_account_to_the_member_who_started_it(
        live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    pat = _sign_in_locally(live_server, member, "pat")
    assert member.get(callback_url_for(live_server, member, emulator)).url == f"{live_server.url}/account/"
    assert MicrosoftAccount.objects.get().user == pat


@pytest.mark.parametrize(("secure", "target", "kept"), [
    (True, "http://testserver/account/", False),
    (True, "https://testserver/account/", True),
    (False, "http://testserver/account/", True),
    (True, "/account/", True),
    (False, "https://evil.example/account/", False),
    (False, "//evil.example/", False),
    (False, "", False),
])
def test_next_stays_on_this_site_and_on_https_under_https(secure: bool, target: str, kept: bool) -> None:
    request = RequestFactory().get("/auth/microsoft/login/", secure=secure)
    assert safe_next(request, target) == (target if kept else "")


def _mode(microsoft: MicrosoftSettings, **fields: Any) -> SignInMode:
    return SignInMode.objects.create(settings=microsoft, name="staff", **fields)


def test_a_modes_failure_url_wins_over_the_sites(live_server: Any, member: MemberBrowser, emulator: Any,
                                                 microsoft: MicrosoftSettings) -> None:
    microsoft.failure_url = f"{live_server.url}/signin/?site=1"
    microsoft.save()
    _mode(microsoft, failure_url=f"{live_server.url}/?mode=staff")
    answer = member.get(f"{live_server.url}/auth/microsoft/login/?mode=staff", allow_redirects=False)
    state = state_of(answer.headers["location"])
    page = member.get(f"{live_server.url}/auth/microsoft/callback/?"
                      + urlencode({"error": "access_denied", "state": state}), allow_redirects=False)
    assert page.headers["location"] == f"{live_server.url}/?mode=staff&f=consent_declined"


def test_the_sites_failure_url_gets_the_code_as_a_query(live_server: Any, member: MemberBrowser,
                                                        microsoft: MicrosoftSettings) -> None:
    microsoft.failure_url = f"{live_server.url}/signin/"
    microsoft.save()
    page = member.get(f"{live_server.url}/auth/microsoft/callback/?code=x&state=unknown", allow_redirects=False)
    assert page.headers["location"] == f"{live_server.url}/signin/?f=state_mismatch"
    microsoft.failure_url = f"{live_server.url}/signin/?from=microsoft"
    microsoft.save()
    page = member.get(f"{live_server.url}/auth/microsoft/callback/?code=x&state=unknown", allow_redirects=False)
    assert page.headers["location"] == f"{live_server.url}/signin/?from=microsoft&f=state_mismatch"


def test_a_mode_without_a_failure_url_falls_back_to_the_sites(live_server: Any, member: MemberBrowser,
                                                              emulator: Any, microsoft: MicrosoftSettings) -> None:
    microsoft.failure_url = f"{live_server.url}/signin/"
    microsoft.save()
    _mode(microsoft)
    answer = member.get(f"{live_server.url}/auth/microsoft/login/?mode=staff", allow_redirects=False)
    page = member.get(f"{live_server.url}/auth/microsoft/callback/?"
                      + urlencode({"error": "access_denied", "state": state_of(answer.headers["location"])}),
                      allow_redirects=False)
    assert page.headers["location"] == f"{live_server.url}/signin/?f=consent_declined"


def test_a_modes_callback_url_is_where_the_member_lands(live_server: Any, member: MemberBrowser, emulator: Any,
                                                        microsoft: MicrosoftSettings) -> None:
    microsoft.callback_url = f"{live_server.url}/?site=1"
    microsoft.save()
    _mode(microsoft, callback_url=f"{live_server.url}/?mode=1")
    sign_in(live_server, member, emulator, "lee", "?mode=staff")
    assert member.page.url == f"{live_server.url}/?mode=1"


def test_the_sites_callback_url_is_where_a_member_lands_without_a_mode(
        live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    microsoft.callback_url = f"{live_server.url}/?site=1"
    microsoft.save()
    sign_in(live_server, member, emulator, "lee")
    assert member.page.url == f"{live_server.url}/?site=1"


def _logout(live_server: Any, member: MemberBrowser) -> Any:
    return member.post(f"{live_server.url}/auth/microsoft/logout/",
                       {"csrfmiddlewaretoken": member.http.cookies["csrftoken"]}, allow_redirects=False)


def test_logout_ends_the_session_in_the_members_own_tenant(live_server: Any, member: MemberBrowser, emulator: Any,
                                                           microsoft: MicrosoftSettings) -> None:
    microsoft.tenant = "organizations"
    microsoft.save()
    fiona = seeded_user(emulator, "fiona", tenant=1)
    member.get(f"{live_server.url}/auth/microsoft/login/")
    member.pick_user(fiona["id"])
    if "decision" in member.page.text:
        member.accept()
    assert member.page.url == f"{live_server.url}/account/"
    location = _logout(live_server, member).headers["location"]
    assert location.startswith(f"{emulator.base_url}/{emulator.info['second_tenant_id']}/oauth2/v2.0/logout?")
    assert parse_qs(urlsplit(location).query)["post_logout_redirect_uri"] == [f"{live_server.url}/"]


def test_a_member_signed_in_with_a_mode_lands_on_its_logout_url(live_server: Any, member: MemberBrowser,
                                                                emulator: Any, microsoft: MicrosoftSettings) -> None:
    microsoft.logout_url = f"{live_server.url}/?site=1"
    microsoft.save()
    _mode(microsoft, logout_url=f"{live_server.url}/?mode=1")
    sign_in(live_server, member, emulator, "lee", "?mode=staff")
    location = _logout(live_server, member).headers["location"]
    assert parse_qs(urlsplit(location).query)["post_logout_redirect_uri"] == [f"{live_server.url}/?mode=1"]


def test_a_local_member_logs_out_without_the_authority(live_server: Any, member: MemberBrowser,
                                                       microsoft: MicrosoftSettings) -> None:
    _sign_in_locally(live_server, member, "pat")
    assert _logout(live_server, member).headers["location"] == f"{live_server.url}/"


@pytest.mark.parametrize(("tenant", "asked"), [("common", "organizations"), ("organizations", "organizations"),
                                               ("guid", "guid")])
def test_admin_consent_asks_the_sites_tenant_or_any_organisation(live_server: Any, member: MemberBrowser,
                                                                  emulator: Any, microsoft: MicrosoftSettings,
                                                                  tenant: str, asked: str) -> None:
    guid = emulator.info["tenant_id"]
    microsoft.tenant = guid if tenant == "guid" else tenant
    microsoft.save()
    location = member.get(f"{live_server.url}/auth/microsoft/admin-consent/", allow_redirects=False).headers["location"]
    assert location.startswith(f"{emulator.base_url}/{guid if asked == 'guid' else asked}/v2.0/adminconsent?")
    query = parse_qs(urlsplit(location).query)
    assert query["client_id"] == [microsoft.client_id]
    assert query["redirect_uri"] == [f"{live_server.url}/auth/microsoft/callback/"]


def _admin_consent_answer(live_server: Any, member: MemberBrowser, **answer: str) -> Any:
    location = member.get(f"{live_server.url}/auth/microsoft/admin-consent/", allow_redirects=False).headers["location"]
    answer = {"state": state_of(location), **answer}
    return member.get(f"{live_server.url}/auth/microsoft/callback/?{urlencode(answer)}")


@pytest.mark.parametrize("granted", ["True", "true"])
def test_admin_consent_granted_names_the_tenant(live_server: Any, member: MemberBrowser, emulator: Any,
                                                microsoft: MicrosoftSettings, granted: str) -> None:
    page = _admin_consent_answer(live_server, member, admin_consent=granted, tenant=emulator.info["tenant_id"])
    assert page.status_code == 200 and "Consent granted" in page.text
    assert emulator.info["tenant_id"] in page.text


@pytest.mark.parametrize("answer", [{"admin_consent": "False"}, {"admin_consent": ""}, {}])
def test_admin_consent_not_granted_is_not_taken_as_granted(live_server: Any, member: MemberBrowser, emulator: Any,
                                                           microsoft: MicrosoftSettings, answer: dict) -> None:
    page = _admin_consent_answer(live_server, member, tenant=emulator.info["tenant_id"], **answer)
    assert failure_code(page) == "admin_consent_required"
    assert "Consent granted" not in page.text


@pytest.mark.parametrize(("error", "description", "code"), [
    ("access_denied", "AADSTS65004: The administrator declined.", "consent_declined"),
    ("some_new_error", "", "admin_consent_required"),
])
def test_admin_consent_error_answers_are_named(live_server: Any, member: MemberBrowser, emulator: Any,
                                               microsoft: MicrosoftSettings, error: str, description: str,
                                               code: str) -> None:
    page = _admin_consent_answer(live_server, member, error=error, error_description=description)
    assert failure_code(page) == code


def test_an_admin_consent_state_is_spent_by_its_answer(live_server: Any, member: MemberBrowser, emulator: Any,
                                                       microsoft: MicrosoftSettings) -> None:
    location = member.get(f"{live_server.url}/auth/microsoft/admin-consent/", allow_redirects=False).headers["location"]
    answer = urlencode({"state": state_of(location), "admin_consent": "True", "tenant": emulator.info["tenant_id"]})
    assert "Consent granted" in member.get(f"{live_server.url}/auth/microsoft/callback/?{answer}").text
    assert failure_code(member.get(f"{live_server.url}/auth/microsoft/callback/?{answer}")) == "state_mismatch"


def test_a_flow_is_spent_by_a_refused_code(live_server: Any, member: MemberBrowser, emulator: Any,
                                          microsoft: MicrosoftSettings, caplog: pytest.LogCaptureFixture) -> None:
    url = callback_url_for(live_server, member, emulator)
    query = parse_qs(urlsplit(url).query)
    query["code"] = ["not-the-code"]
    page = member.get(f"{live_server.url}/auth/microsoft/callback/?{urlencode(query, doseq=True)}")
    assert failure_code(page) == "invalid_grant"
    assert "Microsoft sign-in failed: invalid_grant" in caplog.text
    assert failure_code(member.get(url)) == "state_mismatch"  # the right code cannot be tried again
    assert MicrosoftAccount.objects.count() == 0


def test_connecting_an_account_gives_the_session_a_new_key(live_server: Any, member: MemberBrowser, emulator: Any,
                                                           microsoft: MicrosoftSettings) -> None:
    _sign_in_locally(live_server, member, "pat")
    url = callback_url_for(live_server, member, emulator)
    before = member.http.cookies["sessionid"]
    assert member.get(url).url == f"{live_server.url}/account/"
    assert member.http.cookies["sessionid"] != before  # a key seen before the connect is worth nothing after it


def test_a_pending_admin_consent_does_not_capture_a_sign_in_callback(live_server: Any, member: MemberBrowser,
                                                                    emulator: Any, microsoft: MicrosoftSettings) -> None:
    member.get(f"{live_server.url}/auth/microsoft/admin-consent/", allow_redirects=False)  # never answered
    assert member.get(callback_url_for(live_server, member, emulator)).url == f"{live_server.url}/account/"


def test_a_token_endpoint_that_drops_the_connection_is_access_token_failed(
        live_server: Any, member: MemberBrowser, emulator: Any, http_emulator: Any,
        microsoft: MicrosoftSettings) -> None:
    url = callback_url_for(live_server, member, emulator)
    http_emulator.post(f"{emulator.base_url}/_emulator/faults",
                       json={"kind": "reset", "path": "/*/oauth2/v2.0/token", "count": 5})
    assert failure_code(member.get(url)) == "access_token_failed"
    assert MicrosoftAccount.objects.count() == 0
