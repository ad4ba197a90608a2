"""The users family through graphfns.execute, against the emulator over TLS: delegated and application."""

from __future__ import annotations

import base64
from typing import Any

import pytest

import graphfns
from emulator.seed import USER_ADMIN
from membership.models import MicrosoftSettings
from tests.support.api import failure, graph_calls
from tests.support.members import Connect, seeded_user

NEW_USER = {"accountEnabled": True, "displayName": "Ada Lovelace", "mailNickname": "ada",
            "userPrincipalName": "ada@contoso.test", "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"}}


# -- get / list / get_many --------------------------------------------------------------------------


def test_the_application_reads_a_missing_user_as_not_found(microsoft: MicrosoftSettings) -> None:
    assert failure("users.get", {"user_id": "nobody@contoso.test"}).code == "NotFound"


def test_a_result_carries_no_odata_context(connect: Connect) -> None:
    lee = connect("lee")
    profile = graphfns.execute("users.get", {"user_id": "me"}, auth_user=lee)
    assert "@odata.context" not in profile
    assert profile["displayName"] == "Lee Gu"


def test_listing_with_a_page_size_of_three_follows_every_page(emulator: Any, microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    result = graphfns.execute("users.list", {"top": 3, "select": ["userPrincipalName"]})
    upns = [u["userPrincipalName"] for u in result["value"]]
    assert result["count"] == len(upns) == 13
    assert len(set(upns)) == 13
    assert emulator.emulator.requests["GET /v1.0/users"] == 5  # 3+3+3+3+1


def test_a_member_pages_through_users_with_cursors(connect: Connect) -> None:
    lee = connect("lee")
    seen: list[str] = []
    page = graphfns.execute("users.list", {"top": 3, "all_pages": False}, auth_user=lee)
    pages = 1
    while page["next_cursor"]:
        seen += [u["id"] for u in page["value"]]
        page = graphfns.execute("users.list", {"cursor": page["next_cursor"]}, auth_user=lee)
        pages += 1
    seen += [u["id"] for u in page["value"]]
    assert pages == 5
    assert len(set(seen)) == 13


def test_a_cursor_for_another_collection_is_refused(connect: Connect, emulator: Any) -> None:
    lee = connect("lee")
    base = emulator.base_url + "/v1.0"
    for cursor in (f"{base}/users/lee@contoso.test/events?$skip=3", "https://evil.example/v1.0/users?$skiptoken=x"):
        error = failure("users.list", {"cursor": cursor}, lee)
        assert error.code == "ValidationError"
        assert error.details["field"] == "cursor"


def test_many_users_are_read_in_batches_of_twenty_with_progress(emulator: Any, microsoft: MicrosoftSettings) -> None:
    real = [u["userPrincipalName"] for u in emulator.emulator.state["tenants"][0]["users"]]
    ghosts = [f"ghost{i}@contoso.test" for i in range(12)]
    progress: list[tuple[int, int]] = []
    emulator.emulator.requests.clear()
    result = graphfns.execute("users.get_many", {"user_ids": real + ghosts, "select": ["userPrincipalName"]},
                              progress=lambda done, total: progress.append((done, total)))
    assert sorted(u["userPrincipalName"] for u in result["value"]) == sorted(real)
    assert result["count"] == 13
    assert sorted(m["user_id"] for m in result["missing"]) == sorted(ghosts)
    assert {m["code"] for m in result["missing"]} == {"NotFound"}
    assert emulator.emulator.requests["POST /v1.0/$batch"] == 2
    assert progress == [(0, 25), (20, 25), (25, 25)]


def test_a_member_reads_many_users_and_a_platform_user_without_account_is_reported(
        connect: Connect, django_user_model: Any) -> None:
    lee = connect("lee")
    local = django_user_model.objects.create(username="local")
    result = graphfns.execute("users.get_many", {"user_ids": ["me", "adele@contoso.test", str(local.pk)]},
                              auth_user=lee)
    assert [u["displayName"] for u in result["value"]] == ["Lee Gu", "Adele Vance"]
    assert result["missing"] == [{"user_id": str(local.pk), "code": "NotConnected",
                                  "message": f"Platform user {local.pk} has no connected Microsoft account."}]


# -- create / update / delete ---------------------------------------------------------------------


def test_the_application_creates_a_user_that_can_then_be_read(microsoft: MicrosoftSettings) -> None:
    created = graphfns.execute("users.create", {"user": {**NEW_USER, "jobTitle": "Analyst"}})
    assert created["userPrincipalName"] == "ada@contoso.test"
    assert graphfns.execute("users.get", {"user_id": created["id"], "select": ["jobTitle"]})["jobTitle"] == "Analyst"


def test_a_user_administrator_creates_a_user_but_a_plain_member_is_denied(connect: Connect) -> None:
    megan = connect("megan", scopes=["User.ReadWrite.All"])
    lee = connect("lee", scopes=["User.ReadWrite.All"])
    assert failure("users.create", {"user": NEW_USER}, lee).code == "Authorization_RequestDenied"
    created = graphfns.execute("users.create", {"user": NEW_USER}, auth_user=megan)
    assert graphfns.execute("users.get", {"user_id": "ada@contoso.test"}, auth_user=lee)["id"] == created["id"]


def test_creating_a_user_without_a_required_property_names_it_before_any_call(
        emulator: Any, microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    user = {k: v for k, v in NEW_USER.items() if k != "mailNickname"}
    error = failure("users.create", {"user": {**user, "favouriteColour": "blue"}})
    assert error.code == "ValidationError"
    messages = " ".join(e["message"] for e in error.details["errors"])
    assert "mailNickname" in messages and "favouriteColour" in messages
    assert graph_calls(emulator) == 0


def test_a_member_updates_their_own_profile(connect: Connect) -> None:
    lee = connect("lee", scopes=["User.ReadWrite.All"])
    result = graphfns.execute("users.update", {"user_id": "me", "changes": {"officeLocation": "Building 9"}},
                              auth_user=lee)
    assert result["updated"] == ["officeLocation"]
    profile = graphfns.execute("users.get", {"user_id": "me", "select": ["officeLocation"]}, auth_user=lee)
    assert profile["officeLocation"] == "Building 9"


def test_a_member_without_a_directory_role_cannot_update_another_user(connect: Connect) -> None:
    lee = connect("lee", scopes=["User.ReadWrite.All"])
    error = failure("users.update", {"user_id": "alex@contoso.test", "changes": {"jobTitle": "CMO"}}, lee)
    assert error.code == "Authorization_RequestDenied"
    assert error.status == 403
    assert graphfns.execute("users.get", {"user_id": "alex@contoso.test"})["jobTitle"] == "Marketing Manager"


def test_a_user_administrator_and_the_application_update_other_users(connect: Connect) -> None:
    megan = connect("megan", scopes=["User.ReadWrite.All"])
    graphfns.execute("users.update", {"user_id": "diego@contoso.test", "changes": {"jobTitle": "HR Lead"}},
                     auth_user=megan)
    graphfns.execute("users.update", {"user_id": "alex@contoso.test", "changes": {"department": "Growth"}})
    assert graphfns.execute("users.get", {"user_id": "diego@contoso.test"}, auth_user=megan)["jobTitle"] == "HR Lead"
    alex = graphfns.execute("users.get", {"user_id": "alex@contoso.test", "select": ["department"]})
    assert alex["department"] == "Growth"


def test_an_update_with_an_unknown_property_is_refused_naming_it(microsoft: MicrosoftSettings) -> None:
    error = failure("users.update", {"user_id": "alex@contoso.test", "changes": {"jobTitel": "CMO"}})
    assert error.code == "ValidationError"
    assert error.details["errors"][0]["field"] == "changes"
    assert "jobTitel" in error.message


def test_the_application_deletes_a_user(microsoft: MicrosoftSettings) -> None:
    created = graphfns.execute("users.create", {"user": NEW_USER})
    assert graphfns.execute("users.delete", {"user_id": created["id"]})["deleted"] is True
    assert failure("users.get", {"user_id": created["id"]}).code == "NotFound"


def test_a_user_administrator_deletes_a_user_a_plain_member_cannot(connect: Connect) -> None:
    graphfns.execute("users.create", {"user": NEW_USER})
    lee = connect("lee", scopes=["User.ReadWrite.All"])
    megan = connect("megan", scopes=["User.ReadWrite.All"])
    assert failure("users.delete", {"user_id": "ada@contoso.test"}, lee).code == "Authorization_RequestDenied"
    graphfns.execute("users.delete", {"user_id": "ada@contoso.test"}, auth_user=megan)
    assert failure("users.get", {"user_id": "ada@contoso.test"}).code == "NotFound"


def test_deleting_without_a_write_scope_is_scope_invalid(connect: Connect) -> None:
    lee = connect("lee")  # User.Read, User.ReadBasic.All, Calendars.ReadWrite
    error = failure("users.delete", {"user_id": "alex@contoso.test"}, lee)
    assert error.code == "ScopeInvalid"
    assert "User.ReadWrite.All" in error.details["missing_scopes"]


# -- relationships ----------------------------------------------------------------------------------


def test_a_member_reads_their_manager_and_the_application_reads_anyones(connect: Connect) -> None:
    lee = connect("lee")
    assert graphfns.execute("users.manager", {"user_id": "me"}, auth_user=lee)["displayName"] == "Adele Vance"
    manager = graphfns.execute("users.manager", {"user_id": "lidia@contoso.test", "select": ["mail"]})
    assert manager["mail"] == "lee@contoso.test"


def test_a_user_without_a_manager_is_not_found(microsoft: MicrosoftSettings) -> None:
    assert failure("users.manager", {"user_id": "adele@contoso.test"}).code == "NotFound"


def test_direct_reports_are_listed_in_both_modes(connect: Connect) -> None:
    lee = connect("lee")
    mine = graphfns.execute("users.direct_reports", {"user_id": "me", "select": ["displayName"]}, auth_user=lee)
    assert sorted(u["displayName"] for u in mine["value"]) == ["Lidia Holloway", "Lynne Robbins", "Nestor Wilke"]
    page = graphfns.execute("users.direct_reports", {"user_id": "lee@contoso.test", "top": 2, "all_pages": False})
    assert len(page["value"]) == 2
    rest = graphfns.execute("users.direct_reports", {"user_id": "lee@contoso.test", "cursor": page["next_cursor"]})
    assert len(rest["value"]) == 1 and rest["next_cursor"] is None


def test_member_of_lists_groups_and_roles_and_filters_by_kind(connect: Connect) -> None:
    megan = connect("megan")
    everything = graphfns.execute("users.member_of", {"user_id": "me"}, auth_user=megan)
    kinds = {o["@odata.type"] for o in everything["value"]}
    assert "#microsoft.graph.directoryRole" in kinds
    roles = graphfns.execute("users.member_of", {"user_id": "megan@contoso.test", "kind": "directoryRole"})
    assert [r["displayName"] for r in roles["value"]] == ["User Administrator"]
    groups = graphfns.execute("users.member_of", {"user_id": "lee@contoso.test", "kind": "group"})
    assert "Engineering" in {g["displayName"] for g in groups["value"]}
    assert groups["count"] == len(groups["value"])


def test_a_photo_comes_back_as_base64_png(connect: Connect) -> None:
    lee = connect("lee")
    mine = graphfns.execute("users.photo", {"user_id": "me"}, auth_user=lee)
    assert mine["content_type"] == "image/png"
    data = base64.b64decode(mine["data_base64"])
    assert data.startswith(b"\x89PNG") and len(data) == mine["size"]
    adeles = graphfns.execute("users.photo", {"user_id": "adele@contoso.test"})
    assert adeles["data_base64"] != mine["data_base64"]


def test_a_user_without_a_photo_is_not_found(microsoft: MicrosoftSettings) -> None:
    assert failure("users.photo", {"user_id": "lynne@contoso.test"}).code == "NotFound"


# -- directory roles --------------------------------------------------------------------------------


def test_directory_roles_name_the_role_and_its_assignment(connect: Connect, emulator: Any) -> None:
    megan = connect("megan", scopes=["Directory.Read.All"])
    roles = graphfns.execute("users.directory_roles", {"user_id": "me"}, auth_user=megan)
    assert roles["count"] == 1
    (role,) = roles["value"]
    assert (role["roleTemplateId"], role["displayName"]) == (USER_ADMIN, "User Administrator")
    assignment = next(a for a in emulator.emulator.state["tenants"][0]["roleAssignments"]
                      if a["principalId"] == seeded_user(emulator, "megan")["id"])
    assert role["assignmentId"] == assignment["id"]
    assert graphfns.execute("users.directory_roles", {"user_id": "lee@contoso.test"}) == {"value": [], "count": 0}


def test_an_assigned_role_is_listed_and_unlocks_a_denied_write(connect: Connect) -> None:
    lee = connect("lee", scopes=["User.ReadWrite.All"])
    change = {"user_id": "alex@contoso.test", "changes": {"jobTitle": "CMO"}}
    assert failure("users.update", change, lee).code == "Authorization_RequestDenied"

    assignment = graphfns.execute("users.assign_directory_role", {"user_id": "lee@contoso.test",
                                                                  "role": "User Administrator"})
    assert assignment["roleDefinitionId"] == USER_ADMIN
    roles = graphfns.execute("users.directory_roles", {"user_id": str(lee.pk)})
    assert [(r["displayName"], r["assignmentId"]) for r in roles["value"]] == [("User Administrator",
                                                                                assignment["id"])]
    graphfns.execute("users.update", change, auth_user=lee)
    assert graphfns.execute("users.get", {"user_id": "alex@contoso.test"})["jobTitle"] == "CMO"


def test_assigning_a_role_twice_returns_the_same_assignment(microsoft: MicrosoftSettings) -> None:
    first = graphfns.execute("users.assign_directory_role", {"user_id": "lee@contoso.test", "role": USER_ADMIN})
    again = graphfns.execute("users.assign_directory_role", {"user_id": "lee@contoso.test", "role": USER_ADMIN})
    assert again["id"] == first["id"]
    assert graphfns.execute("users.directory_roles", {"user_id": "lee@contoso.test"})["count"] == 1


def test_a_global_administrator_assigns_a_role_but_a_member_cannot(connect: Connect) -> None:
    # Naming the user by UPN also reads the user: hence User.ReadBasic.All.
    adele = connect("adele", scopes=["RoleManagement.ReadWrite.Directory", "User.ReadBasic.All"])
    lee = connect("lee", scopes=["RoleManagement.ReadWrite.Directory"])
    denied = failure("users.assign_directory_role", {"user_id": "me", "role": "Global Administrator"}, lee)
    assert denied.code == "Authorization_RequestDenied"
    graphfns.execute("users.assign_directory_role", {"user_id": "lee@contoso.test", "role": USER_ADMIN},
                     auth_user=adele)
    names = [r["displayName"] for r in graphfns.execute("users.directory_roles", {"user_id": "lee@contoso.test"})
             ["value"]]
    assert names == ["User Administrator"]


def test_an_unknown_role_name_is_not_found(microsoft: MicrosoftSettings) -> None:
    error = failure("users.assign_directory_role", {"user_id": "lee@contoso.test", "role": "Chief Wizard"})
    assert error.code == "NotFound"
    assert "Chief Wizard" in error.message


def test_a_role_is_removed_by_user_and_role_or_by_assignment_id(microsoft: MicrosoftSettings) -> None:
    graphfns.execute("users.assign_directory_role", {"user_id": "lee@contoso.test", "role": USER_ADMIN})
    graphfns.execute("users.remove_directory_role", {"user_id": "lee@contoso.test", "role": "User Administrator"})
    assert graphfns.execute("users.directory_roles", {"user_id": "lee@contoso.test"})["count"] == 0

    assignment = graphfns.execute("users.assign_directory_role", {"user_id": "lee@contoso.test", "role": USER_ADMIN})
    removed = graphfns.execute("users.remove_directory_role", {"assignment_id": assignment["id"]})
    assert removed == {"assignmentId": assignment["id"], "removed": True}
    assert graphfns.execute("users.directory_roles", {"user_id": "lee@contoso.test"})["count"] == 0
    assert failure("users.remove_directory_role", {"assignment_id": assignment["id"]}).code == "NotFound"


def test_removing_a_role_the_user_does_not_hold_is_not_found(microsoft: MicrosoftSettings) -> None:
    error = failure("users.remove_directory_role", {"user_id": "lee@contoso.test", "role": USER_ADMIN})
    assert error.code == "NotFound"


def test_removing_a_role_needs_an_assignment_or_a_user_and_role(emulator: Any, microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    assert failure("users.remove_directory_role", {"user_id": "lee@contoso.test"}).code == "ValidationError"
    assert failure("users.remove_directory_role", {"assignment_id": "x", "role": USER_ADMIN}).code == "ValidationError"
    assert graph_calls(emulator) == 0


def test_a_member_removes_a_role_only_as_an_administrator(connect: Connect) -> None:
    graphfns.execute("users.assign_directory_role", {"user_id": "lee@contoso.test", "role": USER_ADMIN})
    lee = connect("lee", scopes=["RoleManagement.ReadWrite.Directory"])
    adele = connect("adele", scopes=["RoleManagement.ReadWrite.Directory", "User.ReadBasic.All"])
    denied = failure("users.remove_directory_role", {"user_id": "me", "role": USER_ADMIN}, lee)
    assert denied.code == "Authorization_RequestDenied"
    graphfns.execute("users.remove_directory_role", {"user_id": "lee@contoso.test", "role": USER_ADMIN},
                     auth_user=adele)
    assert graphfns.execute("users.directory_roles", {"user_id": "lee@contoso.test"})["count"] == 0


# -- pass-through -----------------------------------------------------------------------------------


def test_a_member_sends_a_raw_request_under_me(connect: Connect) -> None:
    lee = connect("lee", scopes=["User.ReadWrite.All"])
    answer = graphfns.execute("users.request", {"method": "GET", "path": "/me/manager",
                                                "query": {"$select": "displayName"}}, auth_user=lee)
    assert answer == {"status": 200, "body": {"@odata.type": "#microsoft.graph.user", "displayName": "Adele Vance"}}
    patched = graphfns.execute("users.request", {"method": "PATCH", "path": "/me", "body": {"jobTitle": "CTO"}},
                               auth_user=lee)
    assert patched["status"] == 204
    assert graphfns.execute("users.get", {"user_id": "me"}, auth_user=lee)["jobTitle"] == "CTO"


def test_the_application_sends_raw_requests_with_headers_and_binary_answers(microsoft: MicrosoftSettings) -> None:
    found = graphfns.execute("users.request", {
        "method": "GET", "path": "/users", "query": {"$search": '"displayName:lee"', "$count": True},
        "headers": {"ConsistencyLevel": "eventual"}})
    assert [u["displayName"] for u in found["body"]["value"]] == ["Lee Gu"]
    photo = graphfns.execute("users.request", {"method": "GET", "path": "/users/lee@contoso.test/photo/$value"})
    assert photo["content_type"] == "image/png"
    assert base64.b64decode(photo["body_base64"]).startswith(b"\x89PNG")


@pytest.mark.parametrize("path", [
    "/groups",
    "/users/../groups",
    "/users/%2e%2e/groups",
    "/users/lee%2F..%2F..%2Fgroups",
    "https://evil.example/v1.0/users",
    "//evil.example/users",
    "users/lee@contoso.test",
    "/users/lee@contoso.test?$select=id",
    "/users\\..\\groups",
    "/users//manager",
    "/me/manager",  # no member to act as
    "/users/$batch",
    "/users/lee@contoso.test/$batch",
    "/users/%24batch",
])
def test_a_raw_request_outside_users_and_me_is_refused_before_any_call(
        path: str, emulator: Any, microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    error = failure("users.request", {"method": "GET", "path": path})
    assert error.code == "ValidationError"
    assert error.details.get("field") == "path" or error.details["errors"][0]["field"] == "path"
    assert graph_calls(emulator) == 0


def test_a_raw_get_with_a_body_is_refused(microsoft: MicrosoftSettings) -> None:
    error = failure("users.request", {"method": "GET", "path": "/users", "body": {"x": 1}})
    assert (error.code, error.details["field"]) == ("ValidationError", "body")


@pytest.mark.parametrize("method, path", [
    ("GET", "/users/lee@contoso.test/events"),
    ("GET", "/users/lee@contoso.test/calendar/events"),
    ("GET", "/users/lee@contoso.test/calendarView"),
    ("GET", "/users/lee@contoso.test/messages"),
    ("GET", "/users/lee@contoso.test/drive"),
    ("GET", "/users/lee@contoso.test/authentication/methods"),
    ("GET", "/users/lee@contoso.test/EVENTS"),
    ("GET", "/users/lee@contoso.test/%65vents"),
    ("GET", "/users/lee@contoso.test/memberOf/x/microsoft.graph.group/members"),
    ("GET", "/users/lee@contoso.test/manager/microsoft.graph.user/events"),
    ("GET", "/users/lee@contoso.test/photo/$value/x"),
    ("GET", "/users/delta()/events"),
    ("PUT", "/users/lee@contoso.test/manager/$ref"),
    ("DELETE", "/users/lee@contoso.test/manager/$ref"),
    ("POST", "/users/megan@contoso.test/events"),
    ("POST", "/users/lee@contoso.test/memberOf"),
    ("PUT", "/users/lee@contoso.test/photo/$value"),
    ("POST", "/users"),
    ("POST", "/users/lee@contoso.test"),
])
def test_a_raw_request_beyond_the_user_and_its_directory_relationships_is_refused_before_any_call(
        method: str, path: str, emulator: Any, microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    body = {"subject": "Planted"} if method in ("POST", "PUT") else None
    error = failure("users.request", {"method": method, "path": path, **({"body": body} if body else {})})
    assert (error.code, error.details["field"]) == ("ValidationError", "path")
    assert "memberOf" in error.message  # it names what is allowed
    assert graph_calls(emulator) == 0


def test_a_member_cannot_reach_their_own_mail_or_calendar_through_users_request(
        connect: Connect, emulator: Any) -> None:
    lee = connect("lee", scopes=["User.ReadWrite.All"])
    emulator.emulator.requests.clear()
    for path in ("/me/events", "/me/messages", "/me/calendars"):
        error = failure("users.request", {"method": "GET", "path": path}, lee)
        assert (error.code, error.details["field"]) == ("ValidationError", "path")
    assert graph_calls(emulator) == 0


def test_a_member_cannot_delete_themself_through_users_request(connect: Connect, emulator: Any) -> None:
    lee = connect("lee", scopes=["User.ReadWrite.All"])
    emulator.emulator.requests.clear()
    error = failure("users.request", {"method": "DELETE", "path": "/me"}, lee)
    assert (error.code, error.details["field"]) == ("ValidationError", "path")
    assert graph_calls(emulator) == 0


@pytest.mark.parametrize("expand", ["events", "manager,messages", "manager($expand=events)", "*"])
def test_a_raw_request_cannot_expand_beyond_the_directory_relationships(
        expand: str, emulator: Any, microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    for key in ("$expand", "expand", "$EXPAND"):
        error = failure("users.request", {"method": "GET", "path": "/users/lee@contoso.test",
                                          "query": {key: expand}})
        assert (error.code, error.details["field"]) == ("ValidationError", "query")
    assert graph_calls(emulator) == 0


def test_the_application_reads_and_changes_a_user_and_reads_its_relationships_raw(
        microsoft: MicrosoftSettings) -> None:
    def raw(method: str, path: str, **more: Any) -> Any:
        return graphfns.execute("users.request", {"method": method, "path": path, **more})

    assert raw("GET", "/users/lee@contoso.test", query={"$select": "jobTitle"})["body"]["jobTitle"] == \
        "Director of Engineering"
    assert raw("PATCH", "/users/lee@contoso.test", body={"jobTitle": "CTO"})["status"] == 204
    assert raw("GET", "/users/lee@contoso.test", query={"$expand": "manager($select=displayName)"})[
        "body"]["manager"]["displayName"] == "Adele Vance"
    assert raw("GET", "/users/lee@contoso.test/Manager")["body"]["displayName"] == "Adele Vance"
    assert raw("GET", "/users/lee@contoso.test/memberOf")["status"] == 200
    assert raw("GET", "/users/lee@contoso.test/transitiveMemberOf")["status"] == 200
    assert raw("GET", "/users/lee@contoso.test/directReports")["body"]["value"]
    assert raw("GET", "/users/lee@contoso.test/photo")["status"] == 200
