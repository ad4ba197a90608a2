"""End to end: Django's live server, the emulator over TLS, and a scripted member following redirects."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from membership.accounts import microsoft_email
from membership.models import MicrosoftAccount, MicrosoftSettings, SignInMode
from tests.support.browser import MemberBrowser
from tests.support.members import seeded_user, sign_in


def last_authorize_scopes(emulator: Any) -> set[str]:
    log = emulator.emulator.runtime["identity"].authorize_log
    return set(log[-1]["scope"].split())


def test_a_member_signs_in_with_the_default_scopes(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    page = sign_in(live_server, member, emulator, "lee")
    assert page.url == f"{live_server.url}/account/"
    assert "lee@contoso.test" in page.text
    assert last_authorize_scopes(emulator) >= {"User.Read", "Calendars.ReadWrite", "openid", "profile", "offline_access"}
    account = MicrosoftAccount.objects.get()
    lee = seeded_user(emulator, "lee")
    assert (account.tenant_id, account.object_id) == (emulator.info["tenant_id"], lee["id"])
    assert account.user.username == "lee@contoso.test"
    assert account.user.first_name == "Lee"
    assert account.status == "active"
    assert account.refresh_token and account.access_token
    assert "Calendars.ReadWrite" in account.granted_scopes


def test_signing_in_again_finds_the_same_member_and_replaces_the_tokens(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    sign_in(live_server, member, emulator, "lee")
    first = MicrosoftAccount.objects.get()
    old_refresh = first.refresh_token
    sign_in(live_server, MemberBrowser(emulator.ca_file), emulator, "lee")
    assert MicrosoftAccount.objects.count() == 1
    assert User.objects.count() == 1
    assert MicrosoftAccount.objects.get().refresh_token != old_refresh


@pytest.mark.parametrize(("override", "expected", "absent"), [
    (False, {"User.Read", "Calendars.ReadWrite", "Calendars.Read.Shared"}, set()),
    (True, {"Calendars.Read.Shared"}, {"User.Read", "Calendars.ReadWrite"}),
])
def test_a_dev_mode_adds_or_overrides_the_default_scopes(
    live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings,
    override: bool, expected: set[str], absent: set[str],
) -> None:
    role = Group.objects.create(name="developers")
    SignInMode.objects.create(settings=microsoft, name="dev", override_default_scopes=override,
                              scopes="Calendars.Read.Shared", role=role)
    page = sign_in(live_server, member, emulator, "lee", "?mode=dev")
    assert page.url == f"{live_server.url}/account/"
    scopes = last_authorize_scopes(emulator)
    assert expected <= scopes
    assert not (absent & scopes)
    account = MicrosoftAccount.objects.get()
    assert account.mode == "dev"
    assert list(account.user.groups.values_list("name", flat=True)) == ["developers"]


def test_an_unknown_mode_is_a_clear_failure(live_server: Any, member: MemberBrowser, microsoft: MicrosoftSettings) -> None:
    page = member.get(f"{live_server.url}/auth/microsoft/login/?mode=nope")
    assert page.status_code == 400
    assert "This sign-in link is not valid" in page.text
    assert "unknown_mode" in page.text


def test_a_disabled_mode_is_a_clear_failure_too(live_server: Any, member: MemberBrowser, microsoft: MicrosoftSettings) -> None:
    SignInMode.objects.create(settings=microsoft, name="dev", enabled=False, scopes="Calendars.Read")
    assert member.get(f"{live_server.url}/auth/microsoft/login/?mode=dev").status_code == 400


def test_new_members_get_the_default_role(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    microsoft.default_role = Group.objects.create(name="members")
    microsoft.save()
    sign_in(live_server, member, emulator, "lee")
    assert list(User.objects.get().groups.values_list("name", flat=True)) == ["members"]


def test_next_sends_the_member_back_where_they_were(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    page = sign_in(live_server, member, emulator, "lee", "?next=/account/%3Ffrom%3Dnext")
    assert page.url == f"{live_server.url}/account/?from=next"


@pytest.mark.parametrize("evil", ["https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"])
def test_an_open_redirect_next_is_ignored(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings, evil: str) -> None:
    from urllib.parse import quote

    page = sign_in(live_server, member, emulator, "lee", f"?next={quote(evil)}")
    assert page.url == f"{live_server.url}/account/"


def test_a_signed_in_local_user_connects_their_microsoft_account(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    local = User.objects.create_user("pat", password="a-long-password-1")
    member.get(f"{live_server.url}/signin/password/")
    csrf = member.http.cookies["csrftoken"]
    member.post(f"{live_server.url}/signin/password/", {"username": "pat", "password": "a-long-password-1", "csrfmiddlewaretoken": csrf})
    page = sign_in(live_server, member, emulator, "lee")
    assert page.url == f"{live_server.url}/account/"
    account = MicrosoftAccount.objects.get()
    assert account.user == local
    assert User.objects.count() == 1


def test_a_microsoft_account_linked_to_someone_else_cannot_be_connected(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    sign_in(live_server, member, emulator, "lee")
    owner = MicrosoftAccount.objects.get().user
    User.objects.create_user("pat", password="a-long-password-1")
    other = MemberBrowser(emulator.ca_file)
    other.get(f"{live_server.url}/signin/password/")
    other.post(f"{live_server.url}/signin/password/", {"username": "pat", "password": "a-long-password-1", "csrfmiddlewaretoken": other.http.cookies["csrftoken"]})
    page = sign_in(live_server, other, emulator, "lee")
    assert page.status_code == 400
    assert "account_in_use" in page.text
    assert MicrosoftAccount.objects.get().user == owner


def test_adding_a_default_scope_asks_members_to_reconnect(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    sign_in(live_server, member, emulator, "lee")
    microsoft.default_scopes = "User.Read Calendars.ReadWrite Calendars.Read.Shared"
    microsoft.save()
    account = MicrosoftAccount.objects.get()
    assert account.status == "needs_reconsent"
    assert "Calendars.Read.Shared" in account.last_error
    page = member.get(f"{live_server.url}/account/")
    assert "Reconnect to keep using Microsoft features" in page.text
    # Reconnect: the same identity, now with the new scope.
    sign_in(live_server, member, emulator, "lee", "?login_hint=lee@contoso.test&next=/account/")
    assert member.page.url == f"{live_server.url}/account/", member.page.text[:3000]
    account.refresh_from_db()
    assert account.status == "active"
    assert "Calendars.Read.Shared" in account.granted_scopes


def test_disconnect_deletes_the_stored_tokens(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    sign_in(live_server, member, emulator, "lee")
    account = MicrosoftAccount.objects.get()
    member.get(f"{live_server.url}/account/")
    csrf = member.http.cookies["csrftoken"]
    member.post(live_server.url + reverse("membership:disconnect", args=[account.pk]), {"csrfmiddlewaretoken": csrf})
    account.refresh_from_db()
    assert (account.access_token, account.refresh_token, account.status) == ("", "", "revoked")


def test_logout_ends_the_session_at_the_authority_and_lands_on_the_logout_url(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    microsoft.logout_url = f"{live_server.url}/?bye=1"
    microsoft.save()
    sign_in(live_server, member, emulator, "lee")
    csrf = member.http.cookies["csrftoken"]
    page = member.post(f"{live_server.url}/auth/microsoft/logout/", {"csrfmiddlewaretoken": csrf})
    assert any(emulator.base_url in r.url and "/oauth2/v2.0/logout" in r.url for r in page.history)
    assert page.url == f"{live_server.url}/?bye=1"
    assert member.get(f"{live_server.url}/account/").url.startswith(f"{live_server.url}/signin/")


def test_logout_needs_post_with_csrf(live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings) -> None:
    sign_in(live_server, member, emulator, "lee")
    assert member.get(f"{live_server.url}/auth/microsoft/logout/").status_code == 405
    assert member.post(f"{live_server.url}/auth/microsoft/logout/", {}).status_code == 403
    assert member.get(f"{live_server.url}/account/").url == f"{live_server.url}/account/"


def test_tokens_are_encrypted_at_rest_and_never_shown_or_logged(
    live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings, caplog: Any
) -> None:
    import logging

    from django.db import connection

    caplog.set_level(logging.DEBUG)
    pages = [sign_in(live_server, member, emulator, "lee").text]
    account = MicrosoftAccount.objects.get()
    secrets = [account.access_token, account.refresh_token, microsoft.client_secret]
    with connection.cursor() as cursor:
        cursor.execute("SELECT access_token, refresh_token FROM membership_microsoftaccount")
        raw = " ".join(cursor.fetchone())
    User.objects.create_superuser("root", password="a-long-password-1")
    admin = MemberBrowser(emulator.ca_file)
    admin.get(f"{live_server.url}/admin/login/")
    admin.post(f"{live_server.url}/admin/login/", {"username": "root", "password": "a-long-password-1",
                                                    "csrfmiddlewaretoken": admin.http.cookies["csrftoken"]})
    for path in ["/admin/membership/microsoftaccount/", f"/admin/membership/microsoftaccount/{account.pk}/change/",
                 "/admin/membership/microsoftsettings/1/change/"]:
        page = admin.get(f"{live_server.url}{path}")
        assert page.status_code == 200
        pages.append(page.text)
    pages.append(member.get(f"{live_server.url}/account/").text)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in secrets:
        assert secret and len(secret) > 10
        assert secret not in raw
        assert secret not in logged
        for text in pages:
            assert secret not in text


def test_a_new_member_gets_the_email_microsoft_gives(live_server: Any, member: MemberBrowser, emulator: Any,
                                                     microsoft: MicrosoftSettings) -> None:
    sign_in(live_server, member, emulator, "lee")
    assert "email" in last_authorize_scopes(emulator)
    account = MicrosoftAccount.objects.get()
    assert account.user.email == account.email == seeded_user(emulator, "lee")["mail"]
    assert "email" not in account.granted_scopes.split()


def test_the_email_is_filled_on_every_sign_in_unless_the_member_changed_it(
    live_server: Any, member: MemberBrowser, emulator: Any, microsoft: MicrosoftSettings,
) -> None:
    sign_in(live_server, member, emulator, "lee")
    user = User.objects.get()
    User.objects.filter(pk=user.pk).update(email="")  # e.g. created before the email scope was asked for
    sign_in(live_server, MemberBrowser(emulator.ca_file), emulator, "lee")
    user.refresh_from_db()
    assert user.email == "lee@contoso.test"

    seeded_user(emulator, "lee")["mail"] = "lee.gu@contoso.test"  # changed at Microsoft: followed
    sign_in(live_server, MemberBrowser(emulator.ca_file), emulator, "lee")
    user.refresh_from_db()
    assert user.email == "lee.gu@contoso.test"

    User.objects.filter(pk=user.pk).update(email="lee@home.example")  # changed here: kept
    sign_in(live_server, MemberBrowser(emulator.ca_file), emulator, "lee")
    user.refresh_from_db()
    assert user.email == "lee@home.example"
    assert MicrosoftAccount.objects.get().email == "lee.gu@contoso.test"


@pytest.mark.parametrize(("claims", "expected"), [
    ({"email": "a@contoso.test", "preferred_username": "b@contoso.test"}, "a@contoso.test"),
    ({"preferred_username": "b@contoso.test"}, "b@contoso.test"),
    ({"preferred_username": "+44 20 7946 0000"}, ""),
    ({}, ""),
])
def test_the_address_falls_back_to_preferred_username_when_it_is_one(claims: dict[str, str], expected: str) -> None:
    assert microsoft_email(claims) == expected
