"""Graph directory roles and role assignments, and how assignments change what callers may do."""

from __future__ import annotations

import requests

from emulator.seed import GLOBAL_ADMIN, USER_ADMIN
from emulator.server import RunningEmulator
from tests.support.graph import graph_call, graph_token

CONTOSO = "contoso.test"
ROLE_SCOPES = ("User.Read", "RoleManagement.ReadWrite.Directory", "User.ReadWrite.All")


def _token(emulator: RunningEmulator, upn: str | None, scopes: tuple[str, ...] = (), roles: tuple[str, ...] = ()) -> str:
    return graph_token(emulator, upn, scopes, roles)


_call = graph_call


def _user_id(emulator: RunningEmulator, upn: str) -> str:
    user = emulator.emulator.user(emulator.emulator.tenant(CONTOSO), upn)  # type: ignore[arg-type]
    assert user is not None
    return str(user["id"])


def test_directory_roles_list_the_activated_roles_with_template_ids(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    resp = _call(http_emulator, emulator, "GET", "/directoryRoles", _token(emulator, None, roles=("Directory.Read.All",)))
    assert resp.status_code == 200
    roles = {r["displayName"]: r["roleTemplateId"] for r in resp.json()["value"]}
    assert roles["Global Administrator"] == GLOBAL_ADMIN and roles["User Administrator"] == USER_ADMIN


def test_role_members_are_derived_from_assignments(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, None, roles=("Directory.Read.All",))
    roles = _call(http_emulator, emulator, "GET", "/directoryRoles", token).json()["value"]
    ga = next(r for r in roles if r["roleTemplateId"] == GLOBAL_ADMIN)
    members = _call(http_emulator, emulator, "GET", f"/directoryRoles/{ga['id']}/members", token).json()["value"]
    assert [(m["@odata.type"], m["userPrincipalName"]) for m in members] == [("#microsoft.graph.user", "adele@contoso.test")]
    missing = _call(http_emulator, emulator, "GET", "/directoryRoles/00000000-0000-0000-0000-000000000000/members", token)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "Request_ResourceNotFound"


def test_reading_roles_needs_a_role_or_directory_read_permission(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    resp = _call(http_emulator, emulator, "GET", "/directoryRoles", _token(emulator, "lee@contoso.test", ("User.Read",)))
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "Authorization_RequestDenied"


def test_role_assignments_filter_by_principal(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, None, roles=("RoleManagement.ReadWrite.Directory",))
    megan = _user_id(emulator, "megan@contoso.test")
    resp = _call(http_emulator, emulator, "GET", f"/roleManagement/directory/roleAssignments?$filter=principalId eq '{megan}'", token)
    assert resp.status_code == 200
    assert [(a["roleDefinitionId"], a["directoryScopeId"]) for a in resp.json()["value"]] == [(USER_ADMIN, "/")]
    everything = _call(http_emulator, emulator, "GET", "/roleManagement/directory/roleAssignments", token).json()["value"]
    assert len(everything) == 2


def test_role_definitions_are_listed_by_template(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, None, roles=("RoleManagement.ReadWrite.Directory",))
    defs = _call(http_emulator, emulator, "GET", "/roleManagement/directory/roleDefinitions", token).json()["value"]
    assert {d["id"] for d in defs} >= {GLOBAL_ADMIN, USER_ADMIN}
    one = _call(http_emulator, emulator, "GET", f"/roleManagement/directory/roleDefinitions/{USER_ADMIN}", token).json()
    assert one["displayName"] == "User Administrator" and one["isBuiltIn"] is True


def test_granting_user_administrator_lets_the_user_write_users(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    adele = _token(emulator, "adele@contoso.test", ROLE_SCOPES)
    lee = _token(emulator, "lee@contoso.test", ROLE_SCOPES)
    new_user = {"accountEnabled": True, "displayName": "Temp", "mailNickname": "temp",
                "userPrincipalName": "temp@contoso.test", "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"}}
    assert _call(http_emulator, emulator, "POST", "/users", lee, new_user).status_code == 403
    body = {"principalId": _user_id(emulator, "lee@contoso.test"), "roleDefinitionId": USER_ADMIN, "directoryScopeId": "/"}
    created = _call(http_emulator, emulator, "POST", "/roleManagement/directory/roleAssignments", adele, body)
    assert created.status_code == 201, created.text
    assignment = created.json()
    assert assignment["principalId"] == body["principalId"] and assignment["id"]
    assert _call(http_emulator, emulator, "POST", "/users", lee, new_user).status_code == 201
    removed = _call(http_emulator, emulator, "DELETE", f"/roleManagement/directory/roleAssignments/{assignment['id']}", adele)
    assert removed.status_code == 204
    again = {**new_user, "userPrincipalName": "temp2@contoso.test", "mailNickname": "temp2"}
    assert _call(http_emulator, emulator, "POST", "/users", lee, again).status_code == 403


def test_only_global_or_privileged_role_admins_assign_roles_when_delegated(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    megan = _token(emulator, "megan@contoso.test", ROLE_SCOPES)  # a User Administrator is not enough
    body = {"principalId": _user_id(emulator, "lee@contoso.test"), "roleDefinitionId": GLOBAL_ADMIN, "directoryScopeId": "/"}
    resp = _call(http_emulator, emulator, "POST", "/roleManagement/directory/roleAssignments", megan, body)
    assert resp.status_code == 403
    assert resp.json()["error"]["message"] == "Insufficient privileges to complete the operation."
    without_scope = _token(emulator, "adele@contoso.test", ("User.Read", "Directory.Read.All"))
    assert _call(http_emulator, emulator, "POST", "/roleManagement/directory/roleAssignments", without_scope, body).status_code == 403


def test_an_app_with_the_role_management_role_assigns_roles(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    app = _token(emulator, None, roles=("RoleManagement.ReadWrite.Directory",))
    body = {"principalId": "lee@contoso.test", "roleDefinitionId": GLOBAL_ADMIN, "directoryScopeId": "/"}
    resp = _call(http_emulator, emulator, "POST", "/roleManagement/directory/roleAssignments", app, body)
    assert resp.status_code == 201
    assert resp.json()["principalId"] == _user_id(emulator, "lee@contoso.test")
    roles = _call(http_emulator, emulator, "GET", "/users/lee@contoso.test/memberOf",
                  _token(emulator, None, roles=("Directory.Read.All",))).json()["value"]
    assert "Global Administrator" in {r["displayName"] for r in roles}


def test_bad_role_assignments_are_rejected(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    app = _token(emulator, None, roles=("RoleManagement.ReadWrite.Directory",))
    path = "/roleManagement/directory/roleAssignments"
    duplicate = {"principalId": _user_id(emulator, "adele@contoso.test"), "roleDefinitionId": GLOBAL_ADMIN, "directoryScopeId": "/"}
    resp = _call(http_emulator, emulator, "POST", path, app, duplicate)
    assert resp.status_code == 400 and "conflicting object" in resp.json()["error"]["message"]
    unknown_role = {**duplicate, "roleDefinitionId": "00000000-0000-0000-0000-000000000000"}
    assert _call(http_emulator, emulator, "POST", path, app, unknown_role).status_code == 404
    unknown_user = {**duplicate, "principalId": "00000000-0000-0000-0000-000000000001"}
    assert _call(http_emulator, emulator, "POST", path, app, unknown_user).status_code == 404
    assert _call(http_emulator, emulator, "POST", path, app, {"roleDefinitionId": GLOBAL_ADMIN}).status_code == 400
    assert _call(http_emulator, emulator, "DELETE", f"{path}/no-such-assignment", app).status_code == 404


def test_the_organization_names_the_callers_tenant_and_its_domains(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    org = _call(http_emulator, emulator, "GET", "/organization", _token(emulator, "lee@contoso.test", ("User.Read",))).json()["value"]
    assert [(o["displayName"], o["id"]) for o in org] == [("Contoso", emulator.info["tenant_id"])]
    assert [d["name"] for d in org[0]["verifiedDomains"] if d["isDefault"]] == ["contoso.test"]
    denied = _call(http_emulator, emulator, "GET", "/organization", _token(emulator, None, roles=("Calendars.Read",)))
    assert denied.status_code == 403


def test_role_membership_can_also_be_managed_through_directory_role_members(
        emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    adele = _token(emulator, "adele@contoso.test", ROLE_SCOPES)
    roles = _call(http_emulator, emulator, "GET", "/directoryRoles", adele).json()["value"]
    user_admin = next(r for r in roles if r["roleTemplateId"] == USER_ADMIN)
    lee_id = _user_id(emulator, "lee@contoso.test")
    ref = {"@odata.id": f"https://graph.microsoft.com/v1.0/directoryObjects/{lee_id}"}
    assert _call(http_emulator, emulator, "POST", f"/directoryRoles/{user_admin['id']}/members/$ref", adele, ref).status_code == 204
    assert _call(http_emulator, emulator, "POST", f"/directoryRoles/{user_admin['id']}/members/$ref", adele, ref).status_code == 400
    filtered = f"/roleManagement/directory/roleAssignments?$filter=principalId eq '{lee_id}'"
    assert [a["roleDefinitionId"] for a in _call(http_emulator, emulator, "GET", filtered, adele).json()["value"]] == [USER_ADMIN]
    lee = _token(emulator, "lee@contoso.test", ROLE_SCOPES)
    assert _call(http_emulator, emulator, "PATCH", "/users/alex@contoso.test", lee, {"jobTitle": "CMO"}).status_code == 204
    gone = _call(http_emulator, emulator, "DELETE", f"/directoryRoles/{user_admin['id']}/members/{lee_id}/$ref", adele)
    assert gone.status_code == 204
    assert _call(http_emulator, emulator, "PATCH", "/users/alex@contoso.test", lee, {"jobTitle": "CEO"}).status_code == 403
