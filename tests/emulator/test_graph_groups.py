"""Groups, nested membership, checkMemberGroups, service principals and app role assignments in Graph."""

from __future__ import annotations

from typing import Any

import requests

from emulator.seed import GLOBAL_ADMIN
from emulator.server import RunningEmulator
from tests.support.graph import graph_call, graph_token


def _ctl(emulator: RunningEmulator, path: str) -> str:
    return f"{emulator.base_url}/_emulator{path}"


def _reader(emulator: RunningEmulator) -> str:
    return graph_token(emulator, None, roles=("Directory.Read.All",))


def _get(http: requests.Session, emulator: RunningEmulator, path: str, token: str) -> dict[str, Any]:
    resp = graph_call(http, emulator, "GET", path, token)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def _group(http: requests.Session, emulator: RunningEmulator, name: str, *members: str) -> str:
    created = http.post(_ctl(emulator, "/groups"), json={"displayName": name})
    assert created.status_code == 201, created.text
    gid = str(created.json()["id"])
    for member in members:
        assert http.post(_ctl(emulator, f"/groups/{gid}/members"), json={"id": member}).status_code == 200
    return gid


def _nested(http: requests.Session, emulator: RunningEmulator) -> tuple[str, str, str]:
    """Editors ⊃ Writers ⊃ Interns ∋ lidia."""
    interns = _group(http, emulator, "Interns", "lidia@contoso.test")
    writers = _group(http, emulator, "Writers", interns)
    editors = _group(http, emulator, "Editors", writers)
    return editors, writers, interns


def test_groups_are_listed_and_read_with_their_kind(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _reader(emulator)
    listed = _get(http_emulator, emulator, "/groups?$select=id,displayName,securityEnabled", token)["value"]
    assert {"Engineering", "All Company"} <= {g["displayName"] for g in listed}
    one = next(g for g in listed if g["displayName"] == "Engineering")
    body = _get(http_emulator, emulator, f"/groups/{one['id']}", token)
    assert body["securityEnabled"] is True and body["mailEnabled"] is False and body["groupTypes"] == []
    filtered = _get(http_emulator, emulator, "/groups?$filter=displayName eq 'All Company'", token)["value"]
    assert [g["displayName"] for g in filtered] == ["All Company"]
    missing = graph_call(http_emulator, emulator, "GET", "/groups/00000000-0000-0000-0000-000000000000", token)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "Request_ResourceNotFound"
    denied = graph_call(http_emulator, emulator, "GET", "/groups", graph_token(emulator, None, roles=("Calendars.Read",)))
    assert denied.status_code == 403


def test_members_are_users_and_groups_with_their_types(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    editors, writers, _ = _nested(http_emulator, emulator)
    assert http_emulator.post(_ctl(emulator, f"/groups/{editors}/members"), json={"id": "lee@contoso.test"}).ok
    members = _get(http_emulator, emulator, f"/groups/{editors}/members", _reader(emulator))["value"]
    assert {(m["@odata.type"], m["displayName"]) for m in members} == {
        ("#microsoft.graph.group", "Writers"), ("#microsoft.graph.user", "Lee Gu")}
    everyone = _get(http_emulator, emulator, f"/groups/{editors}/transitiveMembers", _reader(emulator))["value"]
    assert {m["displayName"] for m in everyone} == {"Writers", "Interns", "Lee Gu", "Lidia Holloway"}
    assert writers in {m["id"] for m in everyone}


def test_transitive_member_of_flattens_nested_groups_and_lists_directory_roles(
        emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    editors, writers, interns = _nested(http_emulator, emulator)
    token = _reader(emulator)
    direct = _get(http_emulator, emulator, "/users/lidia@contoso.test/memberOf", token)["value"]
    assert interns in {m["id"] for m in direct} and editors not in {m["id"] for m in direct}
    transitive = _get(http_emulator, emulator, "/users/lidia@contoso.test/transitiveMemberOf?$select=id,displayName",
                      token)["value"]
    assert {editors, writers, interns} <= {m["id"] for m in transitive}
    assert all(set(m) == {"@odata.type", "id", "displayName"} for m in transitive)
    adele = graph_token(emulator, "adele@contoso.test", ("User.Read",))
    mine = _get(http_emulator, emulator, "/me/transitiveMemberOf", adele)["value"]
    assert ("#microsoft.graph.directoryRole", GLOBAL_ADMIN) in {(m["@odata.type"], m.get("roleTemplateId")) for m in mine}
    groups_only = _get(http_emulator, emulator, "/me/transitiveMemberOf/microsoft.graph.group", adele)["value"]
    assert {m["@odata.type"] for m in groups_only} == {"#microsoft.graph.group"}


def test_transitive_member_of_is_paged(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    for i in range(5):
        _group(http_emulator, emulator, f"Team {i}", "lee@contoso.test")
    token = _reader(emulator)
    page = _get(http_emulator, emulator, "/users/lee@contoso.test/transitiveMemberOf?$top=3", token)
    seen = [m["id"] for m in page["value"]]
    while "@odata.nextLink" in page:
        page = _get(http_emulator, emulator, page["@odata.nextLink"], token)
        seen += [m["id"] for m in page["value"]]
    assert len(seen) == len(set(seen)) == 7  # Engineering, All Company and the five teams


def test_check_member_groups_answers_the_transitive_ones(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    editors, _, interns = _nested(http_emulator, emulator)
    other = _group(http_emulator, emulator, "Other", "lee@contoso.test")
    asked = {"groupIds": [editors, interns, other, "11111111-1111-1111-1111-111111111111"]}
    resp = graph_call(http_emulator, emulator, "POST", "/users/lidia@contoso.test/checkMemberGroups",
                      _reader(emulator), asked)
    assert resp.status_code == 200, resp.text
    assert resp.json()["value"] == [editors, interns]
    lidia = graph_token(emulator, "lidia@contoso.test", ("User.Read",))
    assert graph_call(http_emulator, emulator, "POST", "/me/checkMemberGroups", lidia, asked).json()["value"] == [editors, interns]
    too_many = {"groupIds": [editors] * 21}
    refused = graph_call(http_emulator, emulator, "POST", "/me/checkMemberGroups", lidia, too_many)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "Request_BadRequest"
    objects = graph_call(http_emulator, emulator, "POST", "/users/lidia@contoso.test/getMemberObjects",
                         _reader(emulator), {"securityEnabledOnly": True}).json()["value"]
    assert {editors, interns} <= set(objects)


def test_the_service_principal_lists_the_app_roles(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    client_id = emulator.info["client_id"]
    token = _reader(emulator)
    found = _get(http_emulator, emulator, f"/servicePrincipals?$filter=appId eq '{client_id}'", token)["value"]
    assert len(found) == 1 and {r["value"] for r in found[0]["appRoles"]} == {"Admin", "Editor", "Reader"}
    by_app_id = _get(http_emulator, emulator, f"/servicePrincipals(appId='{client_id}')", token)
    assert by_app_id["id"] == found[0]["id"] and by_app_id["appId"] == client_id
    assert _get(http_emulator, emulator, f"/servicePrincipals/{found[0]['id']}", token)["displayName"] == "Membership platform"
    missing = graph_call(http_emulator, emulator, "GET", "/servicePrincipals(appId='00000000-0000-0000-0000-000000000001')", token)
    assert missing.status_code == 404


def test_app_role_assignments_to_users_and_groups(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    client_id = emulator.info["client_id"]
    editors = _group(http_emulator, emulator, "Editors", "lidia@contoso.test")
    assert http_emulator.post(_ctl(emulator, "/users/lee@contoso.test/app-role-assignments"),
                              json={"clientId": client_id, "value": "Admin"}).status_code == 201
    assert http_emulator.post(_ctl(emulator, f"/groups/{editors}/app-role-assignments"),
                              json={"clientId": client_id, "value": "Editor"}).status_code == 201
    token = _reader(emulator)
    sp = _get(http_emulator, emulator, f"/servicePrincipals(appId='{client_id}')", token)
    roles = {r["value"]: r["id"] for r in sp["appRoles"]}
    lee = _get(http_emulator, emulator, "/users/lee@contoso.test/appRoleAssignments", token)["value"]
    assert [(a["appRoleId"], a["principalType"], a["principalDisplayName"], a["resourceId"], a["resourceDisplayName"])
            for a in lee] == [(roles["Admin"], "User", "Lee Gu", sp["id"], "Membership platform")]
    mine = _get(http_emulator, emulator, "/me/appRoleAssignments", graph_token(emulator, "lee@contoso.test", ("User.Read",)))
    assert [a["id"] for a in mine["value"]] == [lee[0]["id"]]
    # Only direct assignments, as in Graph: Lidia holds Editor through her group.
    assert _get(http_emulator, emulator, "/users/lidia@contoso.test/appRoleAssignments", token)["value"] == []
    filtered = _get(http_emulator, emulator, f"/users/lee@contoso.test/appRoleAssignments?$filter=resourceId eq {sp['id']}",
                    token)["value"]
    assert len(filtered) == 1
    assigned_to = _get(http_emulator, emulator, f"/servicePrincipals/{sp['id']}/appRoleAssignedTo?$top=1", token)
    assert len(assigned_to["value"]) == 1 and "@odata.nextLink" in assigned_to
    rest = _get(http_emulator, emulator, assigned_to["@odata.nextLink"], token)["value"]
    assert {a["principalType"] for a in assigned_to["value"] + rest} == {"User", "Group"}
    assert http_emulator.delete(_ctl(emulator, f"/users/lee@contoso.test/app-role-assignments/Admin?clientId={client_id}")).ok
    assert _get(http_emulator, emulator, "/users/lee@contoso.test/appRoleAssignments", token)["value"] == []
