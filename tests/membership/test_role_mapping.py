"""Role mappings: Entra app roles, groups and directory roles become Django groups and flags at sign-in."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from membership.models import MicrosoftAccount, MicrosoftSettings, RoleMapping
from tests.support.api import graph_calls
from tests.support.browser import MemberBrowser
from tests.support.directory import Directory, group_names, mapping
from tests.support.members import sign_in

GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"


@pytest.fixture
def directory(emulator: Any, http_emulator: Any) -> Directory:
    return Directory(emulator, http_emulator)


def signs_in(live_server: Any, emulator: Any, nickname: str = "lee") -> User:
    """A fresh browser signs in as the seeded user; their member."""
    browser = MemberBrowser(emulator.ca_file)
    try:
        sign_in(live_server, browser, emulator, nickname)
    finally:
        browser.http.close()
    return MicrosoftAccount.objects.select_related("user").get(username__startswith=f"{nickname}@").user


def test_the_app_role_mapped_to_editors_gives_the_group_at_sign_in_and_takes_it_away_when_unassigned(
        live_server: Any, emulator: Any, microsoft: MicrosoftSettings, directory: Directory) -> None:
    mapping(RoleMapping.Source.APP_ROLE, "Editor", "Editors")
    directory.assign_role("lee@contoso.test", "Editor")
    lee = signs_in(live_server, emulator)
    assert group_names(lee) == {"Editors"}
    lee.groups.add(Group.objects.create(name="Volunteers"))  # given here by hand, under no mapping

    directory.unassign_role("lee@contoso.test", "Editor")
    lee = signs_in(live_server, emulator)
    assert group_names(lee) == {"Volunteers"}


def test_the_role_given_at_creation_stays_when_a_mapping_would_take_it_away(
        live_server: Any, emulator: Any, microsoft: MicrosoftSettings) -> None:
    members = Group.objects.create(name="Members")
    microsoft.default_role = members
    microsoft.save()
    mapping(RoleMapping.Source.APP_ROLE, "Reader", "Members")  # not held by lee
    assert group_names(signs_in(live_server, emulator)) == {"Members"}


def test_staff_status_granted_by_a_mapping_is_taken_away_but_one_set_by_hand_stays(
        live_server: Any, emulator: Any, microsoft: MicrosoftSettings, directory: Directory) -> None:
    mapping(RoleMapping.Source.APP_ROLE, "Admin", "Administrators", staff=True)
    mapping(RoleMapping.Source.DIRECTORY_ROLE, GLOBAL_ADMIN, superuser=True)
    directory.assign_role("lee@contoso.test", "Admin")
    lee = signs_in(live_server, emulator)
    assert (lee.is_staff, lee.is_superuser) == (True, False)
    User.objects.filter(pk=lee.pk).update(is_superuser=True)  # an administrator's decision, not a mapping's

    directory.unassign_role("lee@contoso.test", "Admin")
    lee = signs_in(live_server, emulator)
    assert (lee.is_staff, lee.is_superuser) == (False, True)
    assert group_names(lee) == set()


def test_a_directory_role_in_wids_is_mapped_too(live_server: Any, emulator: Any, microsoft: MicrosoftSettings,
                                                directory: Directory) -> None:
    mapping(RoleMapping.Source.DIRECTORY_ROLE, GLOBAL_ADMIN, "Platform admins", superuser=True)
    directory.call("POST", "/users/lee@contoso.test/directory-roles", {"roleTemplateId": GLOBAL_ADMIN})
    lee = signs_in(live_server, emulator)
    assert group_names(lee) == {"Platform admins"} and lee.is_superuser


def test_a_member_in_250_groups_gets_the_mapped_ones_read_through_graph(
        live_server: Any, emulator: Any, microsoft: MicrosoftSettings, directory: Directory) -> None:
    groups = [directory.group(f"Team {i}", ("lee@contoso.test",)) for i in range(250)]
    outer = directory.group("Everyone in team 7", (groups[7],))  # lee is in it through team 7
    elsewhere = directory.group("Not lee's")
    mapping(RoleMapping.Source.GROUP, groups[200], "Team 200")
    mapping(RoleMapping.Source.GROUP, outer, "Everyone")
    mapping(RoleMapping.Source.GROUP, elsewhere, "Elsewhere")
    before = graph_calls(emulator)
    lee = signs_in(live_server, emulator)
    assert group_names(lee) == {"Team 200", "Everyone"}
    assert graph_calls(emulator) > before  # the token had no groups claim: /me/checkMemberGroups was asked
    stored = MicrosoftAccount.objects.get(user=lee).directory
    assert sorted(stored["groups"]) == sorted([groups[200], outer])

    directory.call("DELETE", f"/groups/{groups[200]}/members/lee@contoso.test")
    assert group_names(signs_in(live_server, emulator)) == {"Everyone"}


def test_when_graph_cannot_say_which_groups_the_sign_in_goes_on_and_keeps_what_was_known(
        live_server: Any, emulator: Any, microsoft: MicrosoftSettings, directory: Directory) -> None:
    groups = [directory.group(f"Team {i}", ("lee@contoso.test",)) for i in range(201)]
    mapping(RoleMapping.Source.GROUP, groups[3], "Team 3")
    assert group_names(signs_in(live_server, emulator)) == {"Team 3"}
    directory.fault(path="/v1.0/me/checkMemberGroups", status=500, count=5)
    lee = signs_in(live_server, emulator)
    assert lee.is_active and group_names(lee) == {"Team 3"}


def test_the_preview_shows_what_applying_would_change_and_changes_nothing(
        admin_client: Any, live_server: Any, emulator: Any, microsoft: MicrosoftSettings,
        directory: Directory) -> None:
    directory.assign_role("lee@contoso.test", "Editor")
    lee = signs_in(live_server, emulator)
    mapping(RoleMapping.Source.APP_ROLE, "Editor", "Editors", staff=True)  # made after lee signed in
    account = MicrosoftAccount.objects.get(user=lee)
    page = admin_client.post("/admin/membership/microsoftaccount/", {
        "action": "preview_role_mapping", "_selected_action": [account.pk]}, follow=True)
    text = page.content.decode()
    assert "adds Editors; grants is_staff" in text
    lee.refresh_from_db()
    assert group_names(lee) == set() and not lee.is_staff


def test_a_group_mapping_saved_in_the_admin_shows_the_groups_name_and_saves_when_graph_is_down(
        admin_client: Any, emulator: Any, microsoft: MicrosoftSettings, directory: Directory) -> None:
    editors = Group.objects.create(name="Editors")
    gid = directory.group("Content editors")
    page = admin_client.post("/admin/membership/rolemapping/add/", {
        "source": "group", "value": gid.upper(), "groups": [editors.pk]}, follow=True)
    assert page.status_code == 200
    row = RoleMapping.objects.get()
    assert (row.value, row.display_name) == (gid, "Content editors")
    assert "Content editors" in admin_client.get("/admin/membership/rolemapping/").content.decode()

    other = directory.group("Another")
    directory.fault(path="/v1.0/groups/*", status=500, count=5)
    page = admin_client.post("/admin/membership/rolemapping/add/", {"source": "group", "value": other,
                                                                    "groups": [editors.pk]}, follow=True)
    assert "could not be looked up" in page.content.decode()
    assert RoleMapping.objects.get(value=other).display_name == ""


def test_a_group_mapping_needs_an_object_id(admin_client: Any, microsoft: MicrosoftSettings) -> None:
    page = admin_client.post("/admin/membership/rolemapping/add/", {"source": "group", "value": "Editors"})
    assert "is not a GUID" in page.content.decode()
    assert not RoleMapping.objects.exists()
