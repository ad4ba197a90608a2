"""Deactivated members, a sign-in stored as one whole, and each sign-in mode's own pages."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from membership.models import MicrosoftAccount, MicrosoftSettings, SignInMode
from membership.refresh import plan_sweep
from tests.support.api import failure, graph_calls
from tests.support.browser import MemberBrowser
from tests.support.members import Connect, account_of, callback_url_for, sign_in


def deactivate(user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)
    user.refresh_from_db()


def test_no_delegated_call_is_made_for_a_deactivated_member(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    deactivate(lee)
    before = graph_calls(emulator)
    error = failure("calendar.list_events", {"user_id": "me"}, auth_user=lee.pk)
    assert error.code == "MemberInactive" and error.status == 409
    assert "deactivated" in error.message
    assert graph_calls(emulator) == before


def test_the_sweep_leaves_a_deactivated_members_token_alone(connect: Connect, emulator: Any) -> None:
    lee, alex = connect("lee"), connect("alex")
    MicrosoftAccount.objects.update(last_refreshed_at=timezone.now() - timedelta(days=30))
    deactivate(lee)
    sweep, batches = plan_sweep()
    assert sweep.due == 1
    assert [account_of(alex).pk] == [pk for ids in batches for pk in ids]


def test_a_deactivated_member_cannot_sign_in_with_microsoft(live_server: Any, member: MemberBrowser, emulator: Any,
                                                          microsoft: MicrosoftSettings) -> None:
    sign_in(live_server, member, emulator, "lee")
    account = MicrosoftAccount.objects.with_tokens().get()
    deactivate(account.user)
    other = MemberBrowser(emulator.ca_file)
    page = other.get(callback_url_for(live_server, other, emulator))
    assert page.status_code == 400 and "<code>member_inactive</code>" in page.text
    stored = MicrosoftAccount.objects.with_tokens().get()
    assert (stored.refresh_token, stored.last_refreshed_at) == (account.refresh_token, account.last_refreshed_at)
    assert other.get(f"{live_server.url}/account/").url.startswith(f"{live_server.url}/signin/")


def test_a_new_member_and_their_tokens_are_stored_together(live_server: Any, member: MemberBrowser, emulator: Any,
                                                          microsoft: MicrosoftSettings, monkeypatch: Any) -> None:
    from membership import flows

    def crash(*args: Any, **kwargs: Any) -> None:  # the process dies between the two writes
        raise RuntimeError("crashed while storing the tokens")

    url = callback_url_for(live_server, member, emulator)
    monkeypatch.setattr(MicrosoftAccount, "store_tokens", crash)
    with pytest.raises(RuntimeError):
        flows.complete_sign_in(_request_for(member, live_server, url), _params(url))
    assert User.objects.count() == 0 and MicrosoftAccount.objects.count() == 0  # no orphan member


def _params(url: str) -> dict[str, str]:
    from urllib.parse import parse_qs, urlsplit

    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def _request_for(member: MemberBrowser, live_server: Any, url: str) -> Any:
    """A request carrying the member's session (which holds the pending flow)."""
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth.models import AnonymousUser
    from django.test import RequestFactory

    request = RequestFactory().get(url)
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(member.http.cookies[settings.SESSION_COOKIE_NAME])
    request.user = AnonymousUser()
    return request


@pytest.fixture
def dev_mode(microsoft: MicrosoftSettings, live_server: Any) -> SignInMode:
    return SignInMode.objects.create(settings=microsoft, name="dev", scopes="Calendars.Read",
                                     logout_url=f"{live_server.url}/?dev-bye=1",
                                     failure_url=f"{live_server.url}/signin/?dev-failed=1")


def test_a_modes_logout_url_is_where_its_members_land(live_server: Any, member: MemberBrowser, emulator: Any,
                                                     microsoft: MicrosoftSettings, dev_mode: SignInMode) -> None:
    microsoft.logout_url = f"{live_server.url}/?bye=1"
    microsoft.save()
    sign_in(live_server, member, emulator, "lee", "?mode=dev")
    page = member.post(f"{live_server.url}/auth/microsoft/logout/", {"csrfmiddlewaretoken": member.http.cookies["csrftoken"]})
    assert page.url == f"{live_server.url}/?dev-bye=1"


def test_a_modes_failure_url_receives_failures_at_the_callback(live_server: Any, member: MemberBrowser, emulator: Any,
                                                              microsoft: MicrosoftSettings, dev_mode: SignInMode) -> None:
    to_authority = member.get(f"{live_server.url}/auth/microsoft/login/?mode=dev", allow_redirects=False)
    state = _params(to_authority.headers["location"])["state"]
    page = member.get(f"{live_server.url}/auth/microsoft/callback/?" + urlencode(
        {"error": "access_denied", "error_description": "AADSTS65004: declined", "state": state}))
    assert page.url == f"{live_server.url}/signin/?dev-failed=1&f=consent_declined"
