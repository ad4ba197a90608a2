"""Service principals and app role assignments: the app's roles as its enterprise application shows
them, who holds them (``appRoleAssignedTo``) and what a user or group was assigned
(``appRoleAssignments``).

A service principal exists in a tenant when the app is registered there or was consented to
(emulator/identity/model.py ``app_in_tenant``); its id is ``Emulator.service_principal_id``. App roles
live on the registration (``app["appRoles"]``), assignments in ``tenant["appRoleAssignments"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from emulator import directory
from emulator.graph import odata
from emulator.graph.api import graph_route, ok
from emulator.graph.auth import USER_SELF_READ, Caller, perm
from emulator.graph.users import not_found, precheck, target_user
from emulator.identity.model import app_in_tenant

if TYPE_CHECKING:
    from emulator.app import Emulator
    from emulator.routing import Request, Response

APPS_READ = perm("Application.Read.All Application.ReadWrite.All Directory.Read.All Directory.ReadWrite.All",
                 "Application.Read.All Application.ReadWrite.All Directory.Read.All Directory.ReadWrite.All")
ASSIGNMENTS_READ = perm("User.ReadBasic.All User.Read.All User.ReadWrite.All Directory.Read.All "
                        "Directory.ReadWrite.All AppRoleAssignment.ReadWrite.All",
                        "User.Read.All User.ReadWrite.All Directory.Read.All Directory.ReadWrite.All "
                        "AppRoleAssignment.ReadWrite.All")
GROUP_ASSIGNMENTS_READ = perm("Group.Read.All Group.ReadWrite.All Directory.Read.All Directory.ReadWrite.All "
                              "AppRoleAssignment.ReadWrite.All",
                              "Group.Read.All Group.ReadWrite.All Directory.Read.All Directory.ReadWrite.All "
                              "AppRoleAssignment.ReadWrite.All")
SP_PROPERTIES = {"id", "deletedDateTime", "accountEnabled", "addIns", "alternativeNames", "appDescription",
                 "appDisplayName", "appId", "applicationTemplateId", "appOwnerOrganizationId",
                 "appRoleAssignmentRequired", "appRoles", "createdByAppId", "customSecurityAttributes", "description",
                 "disabledByMicrosoftStatus", "displayName", "homepage", "info", "isDisabled", "keyCredentials",
                 "loginUrl", "logoutUrl", "notes", "notificationEmailAddresses", "oauth2PermissionScopes",
                 "passwordCredentials", "preferredSingleSignOnMode", "preferredTokenSigningKeyThumbprint",
                 "replyUrls", "resourceSpecificApplicationPermissions", "samlSingleSignOnSettings",
                 "servicePrincipalNames", "servicePrincipalType", "signInAudience", "tags", "tokenEncryptionKeyId",
                 "verifiedPublisher"}
ASSIGNMENT_PROPERTIES = {"id", "deletedDateTime", "appRoleId", "createdDateTime", "principalDisplayName",
                         "principalId", "principalType", "resourceDisplayName", "resourceId"}
_ASSIGNMENT_RULES = odata.FilterRules(properties={"resourceId", "principalId", "appRoleId", "principalType"},
                                      resource="appRoleAssignment", functions=set())


def _role(role: dict[str, Any]) -> dict[str, Any]:
    return {k: role.get(k) for k in ("allowedMemberTypes", "description", "displayName", "id", "isEnabled",
                                     "origin", "value")}


def sp_view(emu: Emulator, tenant: dict[str, Any], app: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    full: dict[str, Any] = {
        "id": emu.service_principal_id(tenant["id"], app["client_id"]), "deletedDateTime": None,
        "accountEnabled": True, "alternativeNames": [], "appDisplayName": app["displayName"],
        "appDescription": None, "appId": app["client_id"], "applicationTemplateId": None,
        "appOwnerOrganizationId": app["home_tenant"], "appRoleAssignmentRequired": False,
        "appRoles": [_role(r) for r in directory.app_roles(app)], "description": None,
        "displayName": app["displayName"], "homepage": None, "loginUrl": None, "logoutUrl": None, "notes": None,
        "notificationEmailAddresses": [], "oauth2PermissionScopes": [], "replyUrls": list(app.get("redirect_uris", [])),
        "servicePrincipalNames": [app["client_id"]], "servicePrincipalType": "Application",
        "signInAudience": app.get("signInAudience", "AzureADMultipleOrgs"), "tags": [], "keyCredentials": [],
        "passwordCredentials": [], "addIns": [], "resourceSpecificApplicationPermissions": [],
    }
    return {f: full.get(f) for f in select} if select else full


def _apps_here(emu: Emulator, caller: Caller) -> list[dict[str, Any]]:
    return [a for a in emu.state["apps"] if app_in_tenant(a, caller.tenant["id"])]


def _sp_app(emu: Emulator, caller: Caller, sp_id: str) -> dict[str, Any]:
    for app in _apps_here(emu, caller):
        if emu.service_principal_id(caller.tenant["id"], app["client_id"]) == sp_id.lower():
            return app
    raise not_found(sp_id)


def assignment_view(emu: Emulator, tenant: dict[str, Any], a: dict[str, Any]) -> dict[str, Any]:
    app = emu.app(a.get("_clientId", ""))
    return {"id": a["id"], "deletedDateTime": None, "appRoleId": a["appRoleId"],
            "createdDateTime": a["createdDateTime"],
            "principalDisplayName": directory.principal_name(tenant, a["principalId"]),
            "principalId": a["principalId"], "principalType": a["principalType"],
            "resourceDisplayName": app["displayName"] if app else None, "resourceId": a["resourceId"]}


def _assignments(emu: Emulator, req: Request, caller: Caller, keep: Any) -> Response:
    select = odata.parse_select(req, ASSIGNMENT_PROPERTIES, "appRoleAssignment")
    predicate = odata.parse_filter(req.query.get("$filter"), _ASSIGNMENT_RULES)
    items = [assignment_view(emu, caller.tenant, a) for a in caller.tenant["appRoleAssignments"] if keep(a)]
    if predicate is not None:
        items = [a for a in items if predicate(a)]
    if select:
        items = [{f: a[f] for f in select} for a in items]
    return ok(req, odata.directory_page(emu, req, items, "appRoleAssignments", select))


# -- service principals -----------------------------------------------------------------------------


@graph_route("GET", "/servicePrincipals")
def list_service_principals(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(APPS_READ)
    select = odata.parse_select(req, SP_PROPERTIES, "servicePrincipal")
    predicate = odata.parse_filter(req.query.get("$filter"), odata.FilterRules(
        properties={"id", "appId", "displayName", "servicePrincipalType"}, resource="ServicePrincipal"))
    items = [sp_view(emu, caller.tenant, a, None) for a in _apps_here(emu, caller)]
    if predicate is not None:
        items = [sp for sp in items if predicate(sp)]
    if select:
        items = [{f: sp.get(f) for f in select} for sp in items]
    return ok(req, {"@odata.context": odata.context("servicePrincipals", select), "value": items})


@graph_route("GET", "/servicePrincipals/{sp}", "/servicePrincipals(appId='{app_id}')")
def get_service_principal(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(APPS_READ)
    if "app_id" in req.params:
        app = next((a for a in _apps_here(emu, caller) if a["client_id"] == req.params["app_id"].lower()), None)
        if app is None:
            raise not_found(f"appId='{req.params['app_id']}'")
    else:
        app = _sp_app(emu, caller, req.params["sp"])
    select = odata.parse_select(req, SP_PROPERTIES, "servicePrincipal")
    return ok(req, {"@odata.context": odata.context("servicePrincipals", select) + "/$entity",
                    **sp_view(emu, caller.tenant, app, select)})


@graph_route("GET", "/servicePrincipals/{sp}/appRoleAssignedTo")
def list_app_role_assigned_to(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(APPS_READ)
    app = _sp_app(emu, caller, req.params["sp"])
    resource_id = emu.service_principal_id(caller.tenant["id"], app["client_id"])
    return _assignments(emu, req, caller, lambda a: a["resourceId"] == resource_id)


# -- what a user or group was assigned ------------------------------------------------------------


@graph_route("GET", "/me/appRoleAssignments", "/users/{id}/appRoleAssignments")
def list_user_app_role_assignments(emu: Emulator, req: Request, caller: Caller) -> Response:
    """Assignments made to the user (not those the user holds through a group, as in Graph)."""
    precheck(req, caller, ASSIGNMENTS_READ)
    user = target_user(emu, req, caller)
    if not (caller.is_self(user) and caller.allowed(USER_SELF_READ)):
        caller.require(ASSIGNMENTS_READ)
    return _assignments(emu, req, caller, lambda a: a["principalId"] == user["id"])


@graph_route("GET", "/groups/{gid}/appRoleAssignments")
def list_group_app_role_assignments(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(GROUP_ASSIGNMENTS_READ)
    found = directory.group(caller.tenant, req.params["gid"])
    if found is None:
        raise not_found(req.params["gid"])
    return _assignments(emu, req, caller, lambda a: a["principalId"] == found["id"])
