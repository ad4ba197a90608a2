"""Directory roles and role assignments (the RBAC that the user-write permission checks consult).

Role membership has one source of truth: ``tenant["roleAssignments"]``. ``/directoryRoles/{id}/members``
and ``memberOf`` are derived from it, so an assignment created through Graph immediately changes
what its principal may do.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator.graph import odata
from emulator.graph.api import GraphError, body_json, graph_route, no_content, ok
from emulator.graph.auth import ORGANIZATION_READ, ROLE_WRITE_ROLES, ROLES_READ, ROLES_WRITE, Caller
from emulator.graph.users import view
from emulator.seed import stable_id

if TYPE_CHECKING:
    from emulator.app import Emulator
    from emulator.routing import Request, Response


def _not_found(key: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound",
                      f"Resource '{key}' does not exist or one of its queried reference-property objects "
                      "are not present.")


@graph_route("GET", "/organization")
def list_organization(emu: Emulator, req: Request, caller: Caller) -> Response:
    # Any signed-in user may read their own organization; apps need a directory role.
    caller.require(ORGANIZATION_READ)
    tenant = caller.tenant
    domains = [{"capabilities": "Email, OfficeCommunicationsOnlineService", "isDefault": i == 0,
                "isInitial": ".onmicrosoft." in d, "name": d, "type": "Managed"}
               for i, d in enumerate(tenant["domains"])]
    org = {"id": tenant["id"], "displayName": tenant["displayName"], "tenantType": "AAD",
           "verifiedDomains": domains, "countryLetterCode": "US", "preferredLanguage": "en",
           "createdDateTime": "2024-01-01T00:00:00Z"}
    return ok(req, {"@odata.context": odata.context("organization"), "value": [org]})


@graph_route("GET", "/directoryRoles")
def list_directory_roles(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(ROLES_READ)
    roles = [{"id": r["id"], "deletedDateTime": None, "description": r["description"],
              "displayName": r["displayName"], "roleTemplateId": r["roleTemplateId"]}
             for r in caller.tenant["directoryRoles"]]
    return ok(req, {"@odata.context": odata.context("directoryRoles"), "value": roles})


def _role(caller: Caller, key: str) -> dict[str, Any]:
    # Graph also addresses a role by template: /directoryRoles(roleTemplateId='...').
    field = "id"
    if key.startswith("roleTemplateId="):
        field, key = "roleTemplateId", key.split("=", 1)[1].strip("'")
    for r in caller.tenant["directoryRoles"]:
        if r[field] == key:
            return r
    raise _not_found(key)


@graph_route("GET", "/directoryRoles/{rid}")
def get_directory_role(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(ROLES_READ)
    role = _role(caller, req.params["rid"])
    return ok(req, {"@odata.context": odata.context("directoryRoles") + "/$entity", "deletedDateTime": None, **role})


@graph_route("GET", "/directoryRoles/{rid}/members")
def list_role_members(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(ROLES_READ)
    role = _role(caller, req.params["rid"])
    principals = {a["principalId"] for a in caller.tenant["roleAssignments"]
                  if a["roleDefinitionId"] == role["roleTemplateId"]}
    members = [view(u, None, True) for u in caller.tenant["users"] if u["id"] in principals]
    return ok(req, {"@odata.context": odata.context("directoryObjects"), "value": members})


def _assign(tenant: dict[str, Any], principal_id: str, template: str) -> dict[str, Any]:
    """Record a role assignment (the one place both APIs write them); 400 if it already exists."""
    if any(a["principalId"] == principal_id and a["roleDefinitionId"] == template for a in tenant["roleAssignments"]):
        raise GraphError(400, "Request_BadRequest",
                         "A conflicting object with one or more of the specified property values is present "
                         "in the directory.")
    assignment = {"id": stable_id(tenant["id"], "assignment", principal_id, template),
                  "principalId": principal_id, "roleDefinitionId": template, "directoryScopeId": "/"}
    tenant["roleAssignments"].append(assignment)
    return assignment


@graph_route("POST", "/directoryRoles/{rid}/members/$ref")
def add_role_member(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(ROLES_WRITE)
    caller.require_admin(ROLE_WRITE_ROLES)
    role = _role(caller, req.params["rid"])
    ref = body_json(req).get("@odata.id")
    if not isinstance(ref, str) or "/" not in ref:
        raise GraphError(400, "Request_BadRequest", "Invalid value specified for property '@odata.id'.")
    key = ref.rstrip("/").rsplit("/", 1)[-1]
    user = emu.user(caller.tenant, key)
    if user is None:
        raise _not_found(key)
    _assign(caller.tenant, user["id"], role["roleTemplateId"])
    return no_content(req)


@graph_route("DELETE", "/directoryRoles/{rid}/members/{uid}/$ref")
def remove_role_member(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(ROLES_WRITE)
    caller.require_admin(ROLE_WRITE_ROLES)
    role = _role(caller, req.params["rid"])
    tenant = caller.tenant
    keep = [a for a in tenant["roleAssignments"]
            if not (a["principalId"] == req.params["uid"] and a["roleDefinitionId"] == role["roleTemplateId"])]
    if len(keep) == len(tenant["roleAssignments"]):
        raise _not_found(req.params["uid"])
    tenant["roleAssignments"] = keep
    return no_content(req)


# -- roleManagement ---------------------------------------------------------------------------


@graph_route("GET", "/roleManagement/directory/roleDefinitions")
def list_role_definitions(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(ROLES_READ)
    defs = [_definition(r) for r in caller.tenant["directoryRoles"]]
    predicate = odata.parse_filter(req.query.get("$filter"), odata.FilterRules(
        properties={"id", "displayName", "templateId", "isBuiltIn"}, resource="unifiedRoleDefinition"))
    if predicate is not None:
        defs = [d for d in defs if predicate(d)]
    return ok(req, {"@odata.context": odata.context("roleManagement/directory/roleDefinitions"), "value": defs})


def _definition(role: dict[str, Any]) -> dict[str, Any]:
    return {"id": role["roleTemplateId"], "description": role["description"], "displayName": role["displayName"],
            "isBuiltIn": True, "isEnabled": True, "resourceScopes": ["/"], "templateId": role["roleTemplateId"],
            "version": "1", "rolePermissions": []}


@graph_route("GET", "/roleManagement/directory/roleDefinitions/{did}")
def get_role_definition(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(ROLES_READ)
    for r in caller.tenant["directoryRoles"]:
        if r["roleTemplateId"] == req.params["did"]:
            return ok(req, {"@odata.context": odata.context("roleManagement/directory/roleDefinitions") + "/$entity",
                            **_definition(r)})
    raise _not_found(req.params["did"])


_ASSIGNMENTS = "roleManagement/directory/roleAssignments"


def _assignment_view(a: dict[str, Any]) -> dict[str, Any]:
    return {"id": a["id"], "principalId": a["principalId"], "roleDefinitionId": a["roleDefinitionId"],
            "directoryScopeId": a.get("directoryScopeId", "/")}


@graph_route("GET", "/roleManagement/directory/roleAssignments")
def list_role_assignments(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(ROLES_READ)
    predicate = odata.parse_filter(req.query.get("$filter"), odata.FilterRules(
        properties={"id", "principalId", "roleDefinitionId", "directoryScopeId"},
        resource="unifiedRoleAssignment", functions=set(), case_insensitive=True))
    items = [_assignment_view(a) for a in caller.tenant["roleAssignments"]]
    if predicate is not None:
        items = [a for a in items if predicate(a)]
    return ok(req, {"@odata.context": odata.context(_ASSIGNMENTS), "value": items})


@graph_route("GET", "/roleManagement/directory/roleAssignments/{aid}")
def get_role_assignment(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(ROLES_READ)
    for a in caller.tenant["roleAssignments"]:
        if a["id"] == req.params["aid"]:
            return ok(req, {"@odata.context": odata.context(_ASSIGNMENTS) + "/$entity", **_assignment_view(a)})
    raise _not_found(req.params["aid"])


@graph_route("POST", "/roleManagement/directory/roleAssignments")
def create_role_assignment(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(ROLES_WRITE)
    caller.require_admin(ROLE_WRITE_ROLES)
    body = body_json(req)
    tenant = caller.tenant
    principal_id = body.get("principalId")
    definition_id = body.get("roleDefinitionId")
    scope = body.get("directoryScopeId", "/")
    for prop in ("principalId", "roleDefinitionId"):
        if not isinstance(body.get(prop), str) or not body[prop]:
            raise GraphError(400, "Request_BadRequest",
                             f"Invalid value specified for property '{prop}' of resource 'UnifiedRoleAssignment'.")
    if scope != "/":
        raise GraphError(400, "Request_BadRequest",
                         "Invalid value specified for property 'directoryScopeId' of resource 'UnifiedRoleAssignment'.")
    if not any(r["roleTemplateId"] == definition_id for r in tenant["directoryRoles"]):
        raise _not_found(str(definition_id))
    if emu.user(tenant, str(principal_id)) is None:
        raise _not_found(str(principal_id))
    principal_id = emu.user(tenant, str(principal_id))["id"]  # type: ignore[index]
    assignment = _assign(tenant, principal_id, str(definition_id))
    return ok(req, {"@odata.context": odata.context(_ASSIGNMENTS) + "/$entity", **_assignment_view(assignment)}, 201)


@graph_route("DELETE", "/roleManagement/directory/roleAssignments/{aid}")
def delete_role_assignment(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(ROLES_WRITE)
    caller.require_admin(ROLE_WRITE_ROLES)
    tenant = caller.tenant
    before = len(tenant["roleAssignments"])
    tenant["roleAssignments"] = [a for a in tenant["roleAssignments"] if a["id"] != req.params["aid"]]
    if len(tenant["roleAssignments"]) == before:
        raise _not_found(req.params["aid"])
    return no_content(req)
