"""The user admin page: a member's Microsoft accounts and their Entra directory roles, assigned and removed
through Graph as the application (against the emulator's seeded tenant)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from graphfns.app_tokens import clear_app_token_cache
from membership.models import MicrosoftAccount, MicrosoftSettings
from tests.support.members import Connect, account_of, seeded_user


def page(user: Any) -> str:
    return f"/admin/auth/user/{user.pk}/change/"


def roles_section(html: str) -> str:
    found = re.search(r'<div class="module microsoft-roles".*', html, re.S)
    assert found, "the user page has no Microsoft roles section"
    return found.group(0)


def listed_roles(html: str) -> list[str]:
    return re.findall(r'<tr class="directory-role">\s*<td>([^<]+)</td>', roles_section(html))


def held_templates(emulator: Any, nickname: str) -> set[str]:
    oid = seeded_user(emulator, nickname)["id"]
    tenant = emulator.emulator.state["tenants"][0]
    return {a["roleDefinitionId"] for a in tenant["roleAssignments"] if a["principalId"] == oid}


USER_ADMIN = "fe930be7-5e62-47db-91af-98c3a49a38b1"
DIRECTORY_READERS = "88d8e3e3-8f55-4a1e-953a-9b9898b8876b"


def test_the_user_page_lists_each_members_entra_roles(admin_client: Client, connect: Connect) -> None:
    megan, adele, lee = connect("megan"), connect("adele"), connect("lee")
    megan_html = admin_client.get(page(megan)).content.decode()
    assert "megan@contoso.test" in roles_section(megan_html)
    assert account_of(megan).object_id in roles_section(megan_html)
    assert listed_roles(megan_html) == ["User Administrator"]
    assert listed_roles(admin_client.get(page(adele)).content.decode()) == ["Global Administrator"]
    lee_html = admin_client.get(page(lee)).content.decode()
    assert listed_roles(lee_html) == []
    assert "No directory roles." in lee_html


def test_assigning_a_role_adds_it_in_entra(admin_client: Client, connect: Connect, emulator: Any) -> None:
    megan = connect("megan")
    account = account_of(megan)
    html = admin_client.get(page(megan)).content.decode()
    options = re.findall(r'<option value="([^"]+)">', roles_section(html))
    assert "Directory Readers" in options
    assert "User Administrator" not in options  # already held

    response = admin_client.post(f"/admin/auth/user/{megan.pk}/microsoft-roles/assign/",
                                 {"account": account.pk, "role": "Directory Readers"}, follow=True)
    assert response.redirect_chain[-1][0] == page(megan) + "#microsoft-roles"
    html = response.content.decode()
    assert "Assigned Directory Readers to megan@contoso.test." in html
    assert held_templates(emulator, "megan") == {USER_ADMIN, DIRECTORY_READERS}
    assert listed_roles(html) == ["Directory Readers", "User Administrator"]


def test_a_role_typed_by_template_id_can_be_assigned(admin_client: Client, connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    admin_client.post(f"/admin/auth/user/{lee.pk}/microsoft-roles/assign/",
                      {"account": account_of(lee).pk, "role": "Global Reader", "other_role": DIRECTORY_READERS})
    assert held_templates(emulator, "lee") == {DIRECTORY_READERS}


def test_removing_a_role_takes_it_away_in_entra(admin_client: Client, connect: Connect, emulator: Any) -> None:
    megan = connect("megan")
    html = roles_section(admin_client.get(page(megan)).content.decode())
    assert f'<input type="hidden" name="role" value="{USER_ADMIN}">' in html
    response = admin_client.post(f"/admin/auth/user/{megan.pk}/microsoft-roles/remove/", {
        "account": account_of(megan).pk, "role": USER_ADMIN, "role_name": "User Administrator",
    }, follow=True)
    html = response.content.decode()
    assert "Removed User Administrator from megan@contoso.test." in html
    assert held_templates(emulator, "megan") == set()
    assert listed_roles(html) == []


def test_removing_only_touches_the_member_on_the_page(admin_client: Client, connect: Connect, emulator: Any) -> None:
    lee, megan = connect("lee"), connect("megan")
    response = admin_client.post(f"/admin/auth/user/{lee.pk}/microsoft-roles/remove/", {
        "account": account_of(megan).pk, "role": USER_ADMIN,  # megan's account, on lee's page
    }, follow=True)
    assert "Choose one of the member&#x27;s Microsoft accounts." in response.content.decode()
    for junk in ["", "abc", "-1"]:
        response = admin_client.post(f"/admin/auth/user/{lee.pk}/microsoft-roles/remove/",
                                     {"account": junk, "role": USER_ADMIN}, follow=True)
        assert "Choose one of the member&#x27;s Microsoft accounts." in response.content.decode()
    assert held_templates(emulator, "megan") == {USER_ADMIN}


def test_graph_errors_are_shown_with_their_catalog_code(admin_client: Client, connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    url = f"/admin/auth/user/{lee.pk}/microsoft-roles/"
    html = admin_client.post(url + "assign/", {"account": account_of(lee).pk, "other_role": "Chief Wizard"},
                             follow=True).content.decode()
    assert "There is no directory role named &#x27;Chief Wizard&#x27;" in html
    assert "(NotFound)" in html
    html = admin_client.post(url + "remove/", {"account": account_of(lee).pk, "role": USER_ADMIN,
                                               "role_name": "User Administrator"}, follow=True).content.decode()
    assert "does not hold the role" in html
    assert "(NotFound)" in html
    assert held_templates(emulator, "lee") == set()


def test_a_missing_application_permission_reads_as_request_denied(admin_client: Client, connect: Connect,
                                                                  emulator: Any, microsoft: MicrosoftSettings) -> None:
    megan = connect("megan")
    app = emulator.emulator.app(microsoft.client_id)
    app["app_roles"][microsoft.tenant] = ["User.Read.All"]  # an admin withdrew the role-management permission
    clear_app_token_cache()
    try:
        section = roles_section(admin_client.get(page(megan)).content.decode())
    finally:
        clear_app_token_cache()  # the narrowed token must not outlive this test
    assert "Directory roles could not be read:" in section
    assert "(Authorization_RequestDenied)" in section
    assert "<form" not in section


def test_accounts_outside_the_app_tenant_and_members_without_one_are_explained(
        admin_client: Client, microsoft: MicrosoftSettings, django_user_model: Any) -> None:
    local = django_user_model.objects.create_user("local", password="pw-irrelevant-123")
    assert "This member has not connected a Microsoft account." in admin_client.get(page(local)).content.decode()
    guest = django_user_model.objects.create_user("guest", password="pw-irrelevant-123")
    MicrosoftAccount.objects.create(user=guest, tenant_id="0c5a3bd4-4ea1-4a1b-8b58-6b0b2b4a0f11",
                                    object_id="5f2f1c1e-0000-4000-8000-000000000001", username="guest@fabrikam.test")
    html = roles_section(admin_client.get(page(guest)).content.decode())
    assert "guest@fabrikam.test" in html
    assert "manages directory roles in its App tenant only" in html


def test_no_token_or_secret_appears_on_the_user_page(admin_client: Client, connect: Connect, emulator: Any) -> None:
    megan = connect("megan")
    account = account_of(megan)
    html = admin_client.get(page(megan)).content.decode()
    assert "User Administrator" in html
    for secret in [account.access_token, account.refresh_token, emulator.info["client_secret"]]:
        assert secret
        assert secret not in html


def test_the_role_actions_need_post_and_change_permission(connect: Connect, django_user_model: Any,
                                                         emulator: Any) -> None:
    megan = connect("megan")
    viewer = django_user_model.objects.create_user("viewer", password="pw-irrelevant-123", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_user"))
    client = Client()
    client.force_login(viewer)
    section = roles_section(client.get(page(megan)).content.decode())
    assert "User Administrator" in section  # may look
    assert "<form" not in section  # may not touch
    for action in ["assign", "remove"]:
        url = f"/admin/auth/user/{megan.pk}/microsoft-roles/{action}/"
        assert client.get(url).status_code == 405
        assert client.post(url, {"account": account_of(megan).pk, "role": USER_ADMIN}).status_code == 403
    assert held_templates(emulator, "megan") == {USER_ADMIN}


@pytest.mark.parametrize("action", ["assign", "remove"])
def test_the_role_actions_need_a_csrf_token(admin_user: Any, connect: Connect, emulator: Any, action: str) -> None:
    megan = connect("megan")
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    url = f"/admin/auth/user/{megan.pk}/microsoft-roles/{action}/"
    assert client.post(url, {"account": account_of(megan).pk, "role": DIRECTORY_READERS}).status_code == 403
    assert held_templates(emulator, "megan") == {USER_ADMIN}


def test_a_rejected_user_form_is_shown_again_without_calling_graph(admin_client: Client, connect: Connect,
                                                                   emulator: Any) -> None:
    from tests.support.api import graph_calls

    lee = connect("lee")
    before = graph_calls(emulator)
    # The admin re-renders a rejected form inside its transaction: no call to Microsoft there.
    response = admin_client.post(page(lee), {"username": ""})
    assert response.status_code == 200 and "This field is required" in response.content.decode()
    assert graph_calls(emulator) == before
