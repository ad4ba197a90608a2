"""The control API's directory calls: users' lifecycle, bulk users, groups, app roles, directory roles."""

from __future__ import annotations

import requests

from emulator.seed import USER_ADMIN
from emulator.server import RunningEmulator
from tests.support.graph import graph_call, graph_token


def _ctl(emulator: RunningEmulator, path: str) -> str:
    return f"{emulator.base_url}/_emulator{path}"


def test_a_user_is_patched_disabled_and_enabled(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    patched = http_emulator.patch(_ctl(emulator, "/users/lee@contoso.test"), json={"jobTitle": "CTO", "surname": "Gu-Li"})
    assert patched.status_code == 200 and patched.json()["jobTitle"] == "CTO"
    assert http_emulator.patch(_ctl(emulator, "/users/lee@contoso.test"), json={"userPrincipalName": "x"}).status_code == 400
    assert http_emulator.post(_ctl(emulator, "/users/lee@contoso.test/disable")).json()["accountEnabled"] is False
    token = graph_token(emulator, None, roles=("User.Read.All",))
    lee = graph_call(http_emulator, emulator, "GET", "/users/lee@contoso.test?$select=accountEnabled,jobTitle", token).json()
    assert (lee["accountEnabled"], lee["jobTitle"]) == (False, "CTO")
    assert http_emulator.post(_ctl(emulator, "/users/lee@contoso.test/enable")).json()["accountEnabled"] is True
    assert http_emulator.post(_ctl(emulator, "/users/nobody@contoso.test/disable")).status_code == 404


def test_deletion_keeps_memberships_for_a_restore_and_purging_is_final(emulator: RunningEmulator,
                                                                       http_emulator: requests.Session) -> None:
    token = graph_token(emulator, None, roles=("Directory.Read.All",))
    assert http_emulator.delete(_ctl(emulator, "/users/megan@contoso.test")).json()["deletedDateTime"]
    assert graph_call(http_emulator, emulator, "GET", "/users/megan@contoso.test", token).status_code == 404
    assert http_emulator.delete(_ctl(emulator, "/users/megan@contoso.test")).status_code == 400  # already deleted
    assert http_emulator.post(_ctl(emulator, "/users/megan@contoso.test/restore")).status_code == 200
    back = graph_call(http_emulator, emulator, "GET", "/users/megan@contoso.test/memberOf", token).json()["value"]
    assert {m["displayName"] for m in back} == {"All Company", "User Administrator"}
    assert http_emulator.post(_ctl(emulator, "/users/megan@contoso.test/restore")).status_code == 400  # not deleted
    assert http_emulator.delete(_ctl(emulator, "/users/megan@contoso.test?permanent=true")).json()["permanent"] is True
    assert http_emulator.post(_ctl(emulator, "/users/megan@contoso.test/restore")).status_code == 404


def test_bulk_users_are_created_with_stable_ids_and_validated(emulator: RunningEmulator,
                                                              http_emulator: requests.Session) -> None:
    first = http_emulator.post(_ctl(emulator, "/users/bulk"), json={"count": 3, "prefix": "member"}).json()
    again = http_emulator.post(_ctl(emulator, "/users/bulk"), json={"count": 2, "prefix": "member"}).json()
    assert len(set(first["ids"] + again["ids"])) == 5 and first["tenant_id"] == emulator.info["tenant_id"]
    tenant = emulator.emulator.tenant("contoso.test")
    assert tenant is not None
    assert emulator.emulator.user(tenant, "member00005@contoso.test") is not None
    for bad in ({"count": 0}, {"count": "3"}, {"count": 2, "prefix": "a b"}, {"count": 1, "tenant": "nowhere.test"}):
        assert http_emulator.post(_ctl(emulator, "/users/bulk"), json=bad).status_code == 400


def test_groups_are_created_nested_emptied_and_deleted(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    gid = "5b0f6ad0-0d5e-4e1e-9b3a-1f8d1c2e3f40"
    created = http_emulator.post(_ctl(emulator, "/groups"), json={"displayName": "Board", "id": gid, "securityEnabled": True})
    assert created.status_code == 201 and created.json()["id"] == gid
    assert http_emulator.post(_ctl(emulator, "/groups"), json={"displayName": "Board", "id": gid}).status_code == 400
    assert http_emulator.post(_ctl(emulator, "/groups"), json={"displayName": "X", "id": "nope"}).status_code == 400
    inner = http_emulator.post(_ctl(emulator, "/groups"), json={"displayName": "Inner"}).json()["id"]
    assert http_emulator.post(_ctl(emulator, f"/groups/{gid}/members"), json={"id": inner}).ok
    assert http_emulator.post(_ctl(emulator, f"/groups/{inner}/members"), json={"id": gid}).status_code == 400  # a cycle
    assert http_emulator.post(_ctl(emulator, f"/groups/{inner}/members"), json={"id": "ghost@contoso.test"}).status_code == 404
    assert http_emulator.post(_ctl(emulator, f"/groups/{inner}/members"), json={"id": "lee@contoso.test"}).ok
    token = graph_token(emulator, None, roles=("Directory.Read.All",))
    lee = graph_call(http_emulator, emulator, "POST", "/users/lee@contoso.test/checkMemberGroups", token, {"groupIds": [gid]})
    assert lee.json()["value"] == [gid]
    assert http_emulator.delete(_ctl(emulator, f"/groups/{inner}/members/lee@contoso.test")).ok
    assert http_emulator.delete(_ctl(emulator, f"/groups/{inner}/members/lee@contoso.test")).status_code == 404
    assert http_emulator.delete(_ctl(emulator, f"/groups/{gid}")).ok
    assert graph_call(http_emulator, emulator, "GET", f"/groups/{gid}", token).status_code == 404


def test_app_roles_and_directory_roles_are_validated(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    client_id = emulator.info["client_id"]
    assert http_emulator.post(_ctl(emulator, f"/apps/{client_id}/app-roles"), json={"value": "has space"}).status_code == 400
    assert http_emulator.post(_ctl(emulator, "/apps/nope/app-roles"), json={"value": "X"}).status_code == 404
    same = http_emulator.post(_ctl(emulator, f"/apps/{client_id}/app-roles"), json={"value": "Editor"}).json()
    assert same["id"] == next(r["id"] for r in emulator.emulator.app(client_id)["appRoles"] if r["value"] == "Editor")  # type: ignore[index]
    assert http_emulator.delete(_ctl(emulator, "/users/lee@contoso.test/app-role-assignments/Editor")).status_code == 404
    assert http_emulator.post(_ctl(emulator, "/users/lee@contoso.test/directory-roles"),
                              json={"roleTemplateId": "not-a-role"}).status_code == 400
    assert http_emulator.post(_ctl(emulator, "/users/lee@contoso.test/directory-roles"),
                              json={"roleTemplateId": USER_ADMIN}).status_code == 201
    # The role now lets Lee write users through Graph.
    lee = graph_token(emulator, "lee@contoso.test", ("User.ReadWrite.All",))
    assert graph_call(http_emulator, emulator, "PATCH", "/users/alex@contoso.test", lee, {"jobTitle": "VP"}).status_code == 204


def test_reset_undoes_the_directory_changes(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    client_id = emulator.info["client_id"]
    http_emulator.post(_ctl(emulator, "/users/bulk"), json={"count": 2})
    http_emulator.post(_ctl(emulator, "/groups"), json={"displayName": "Temp"})
    http_emulator.post(_ctl(emulator, f"/apps/{client_id}/app-roles"), json={"value": "Temp"})
    http_emulator.post(_ctl(emulator, "/users/lee@contoso.test/app-role-assignments"), json={"value": "Editor"})
    http_emulator.delete(_ctl(emulator, "/users/alex@contoso.test"))
    assert http_emulator.post(_ctl(emulator, "/reset")).ok
    tenant = emulator.emulator.tenant("contoso.test")
    assert tenant is not None
    assert len(tenant["users"]) == 13 and tenant["deletedUsers"] == [] and tenant["appRoleAssignments"] == []
    assert {g["displayName"] for g in tenant["groups"]} == {"Engineering", "All Company"}
    assert {r["value"] for r in emulator.emulator.app(client_id)["appRoles"]} == {"Admin", "Editor", "Reader"}  # type: ignore[index]
