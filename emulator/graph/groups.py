"""Groups: list and get, members, and what a user belongs to — memberOf (direct), transitiveMemberOf
(nested groups flattened, plus directory roles), checkMemberGroups, getMemberGroups and getMemberObjects.

Membership lives in ``group["members"]`` (user and group ids); emulator/directory.py walks it.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from emulator import directory
from emulator.graph import odata
from emulator.graph.api import GraphError, body_json, graph_route, ok
from emulator.graph.auth import MEMBER_OF_READ, USER_SELF_READ, Caller, held_roles, perm
from emulator.graph.users import KNOWN_PROPERTIES as USER_PROPERTIES
from emulator.graph.users import not_found, precheck, target_user, view

if TYPE_CHECKING:
    from emulator.app import Emulator
    from emulator.routing import Request, Response

GROUPS_READ = perm("GroupMember.Read.All Group.Read.All Group.ReadWrite.All Directory.Read.All Directory.ReadWrite.All",
                   "GroupMember.Read.All Group.Read.All Group.ReadWrite.All Directory.Read.All "
                   "Directory.ReadWrite.All")
CHECK_LIMIT = 20  # checkMemberGroups takes at most 20 group ids
STRINGS = odata.context("Collection(Edm.String)")

# Every property v1.0 declares on microsoft.graph.group (the CSDL): any may be $selected.
GROUP_PROPERTIES = {
    "id", "deletedDateTime", "accessType", "allowExternalSenders", "assignedLabels", "assignedLicenses",
    "autoSubscribeNewMembers", "classification", "createdDateTime", "description", "displayName",
    "expirationDateTime", "groupTypes", "hasMembersWithLicenseErrors", "hideFromAddressLists",
    "hideFromOutlookClients", "infoCatalogs", "isArchived", "isAssignableToRole", "isFavorite",
    "isManagementRestricted", "isSubscribedByMail", "licenseProcessingState", "mail", "mailEnabled", "mailNickname",
    "membershipRule", "membershipRuleProcessingState", "onPremisesDomainName", "onPremisesExtensionAttributes",
    "onPremisesLastSyncDateTime", "onPremisesNetBiosName", "onPremisesProvisioningErrors",
    "onPremisesSamAccountName", "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "organizationId",
    "preferredDataLocation", "preferredLanguage", "proxyAddresses", "renewedDateTime", "resourceBehaviorOptions",
    "resourceProvisioningOptions", "securityEnabled", "securityIdentifier", "serviceProvisioningErrors", "theme",
    "uniqueName", "unseenConversationsCount", "unseenCount", "unseenMessagesCount", "visibility",
    "welcomeMessageEnabled",
}
# What Graph returns for a group when nothing is $selected (the Microsoft Entra properties).
DEFAULT_GROUP = ["id", "deletedDateTime", "classification", "createdDateTime", "description", "displayName",
                 "expirationDateTime", "groupTypes", "isAssignableToRole", "mail", "mailEnabled", "mailNickname",
                 "membershipRule", "membershipRuleProcessingState", "onPremisesDomainName",
                 "onPremisesLastSyncDateTime", "onPremisesNetBiosName", "onPremisesSamAccountName",
                 "onPremisesSecurityIdentifier", "onPremisesSyncEnabled", "preferredDataLocation",
                 "preferredLanguage", "proxyAddresses", "renewedDateTime", "resourceBehaviorOptions",
                 "resourceProvisioningOptions", "securityEnabled", "securityIdentifier", "theme", "visibility",
                 "onPremisesProvisioningErrors", "serviceProvisioningErrors"]
_GROUP_COLLECTIONS = {"assignedLabels", "assignedLicenses", "groupTypes", "infoCatalogs",
                      "onPremisesProvisioningErrors", "proxyAddresses", "resourceBehaviorOptions",
                      "resourceProvisioningOptions", "serviceProvisioningErrors"}
ROLE_PROPERTIES = {"id", "deletedDateTime", "description", "displayName", "roleTemplateId"}
FILTERABLE = {"id", "displayName", "mailNickname", "securityEnabled", "mailEnabled", "mail"}


def group_view(group: dict[str, Any], select: list[str] | None, odata_type: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"@odata.type": "#microsoft.graph.group"} if odata_type else {}
    for f in select or DEFAULT_GROUP:
        value = group.get(f) if f != "members" else None
        if value is None:
            if f in _GROUP_COLLECTIONS:
                value = []
            elif f == "securityIdentifier":
                words = uuid.UUID(group["id"]).bytes_le
                value = "S-1-12-1-" + "-".join(str(int.from_bytes(words[i:i + 4], "little")) for i in range(0, 16, 4))
            elif f == "renewedDateTime":
                value = group.get("createdDateTime")
        out[f] = value
    return out


def role_view(role: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    full = {"id": role["id"], "deletedDateTime": None, "description": role["description"],
            "displayName": role["displayName"], "roleTemplateId": role["roleTemplateId"]}
    fields = [f for f in select if f in ROLE_PROPERTIES] if select else list(full)
    return {"@odata.type": "#microsoft.graph.directoryRole", **{f: full[f] for f in fields}}


def _select(req: Request, known: set[str], type_name: str = "directoryObject") -> list[str] | None:
    return odata.parse_select(req, known, type_name)


def _page(emu: Emulator, req: Request, items: list[dict[str, Any]], fragment: str) -> Response:
    return ok(req, odata.directory_page(emu, req, items, fragment))


def _group_or_404(caller: Caller, key: str) -> dict[str, Any]:
    found = directory.group(caller.tenant, key)
    if found is None:
        raise not_found(key)
    return found


# -- groups -----------------------------------------------------------------------------------------


@graph_route("GET", "/groups")
def list_groups(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(GROUPS_READ)
    select = _select(req, GROUP_PROPERTIES, "group")
    predicate = odata.parse_filter(req.query.get("$filter"), odata.FilterRules(
        properties=FILTERABLE, resource="Group", functions={"startswith"}))
    groups = [g for g in caller.tenant["groups"] if predicate is None or predicate(g)]
    return ok(req, odata.directory_page(emu, req, groups, "groups", select, lambda g: group_view(g, select)))


@graph_route("GET", "/groups/{gid}")
def get_group(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(GROUPS_READ)
    found = _group_or_404(caller, req.params["gid"])
    select = _select(req, GROUP_PROPERTIES, "group")
    return ok(req, {"@odata.context": odata.context("groups", select) + "/$entity", **group_view(found, select)})


def _member_views(caller: Caller, ids: list[str], select: list[str] | None) -> list[dict[str, Any]]:
    users = {u["id"]: u for u in caller.tenant["users"]}
    out: list[dict[str, Any]] = []
    for oid in ids:
        if oid in users:
            out.append(view(users[oid], [f for f in select if f in USER_PROPERTIES] if select else None, True))
        elif (g := directory.group(caller.tenant, oid)) is not None:
            out.append(group_view(g, [f for f in select if f in GROUP_PROPERTIES] if select else None, True))
    return out


@graph_route("GET", "/groups/{gid}/members")
def list_group_members(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(GROUPS_READ)
    found = _group_or_404(caller, req.params["gid"])
    select = _select(req, USER_PROPERTIES | GROUP_PROPERTIES)
    return _page(emu, req, _member_views(caller, list(found["members"]), select), "directoryObjects")


@graph_route("GET", "/groups/{gid}/transitiveMembers")
def list_group_transitive_members(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(GROUPS_READ)
    found = _group_or_404(caller, req.params["gid"])
    select = _select(req, USER_PROPERTIES | GROUP_PROPERTIES)
    ids: list[str] = []
    pending = list(found["members"])
    while pending:
        oid = pending.pop(0)
        if oid in ids:
            continue
        ids.append(oid)
        nested = directory.group(caller.tenant, oid)
        if nested is not None:
            pending.extend(nested["members"])
    return _page(emu, req, _member_views(caller, ids, select), "directoryObjects")


# -- what a user belongs to -------------------------------------------------------------------------


def _member_target(emu: Emulator, req: Request, caller: Caller) -> dict[str, Any]:
    precheck(req, caller, MEMBER_OF_READ)
    user = target_user(emu, req, caller)
    if not (caller.is_self(user) and caller.allowed(USER_SELF_READ)):
        caller.require(MEMBER_OF_READ)
    return user


def _memberships(caller: Caller, user_id: str, groups: list[dict[str, Any]], select: list[str] | None,
                 groups_only: bool) -> list[dict[str, Any]]:
    group_select = [f for f in select if f in GROUP_PROPERTIES] if select else None
    out = [group_view(g, group_select, True) for g in groups]
    if not groups_only:
        held = held_roles(caller.tenant, user_id)
        out += [role_view(r, select) for r in caller.tenant["directoryRoles"] if r["roleTemplateId"] in held]
    return out


@graph_route("GET", "/me/memberOf", "/users/{id}/memberOf")
def list_member_of(emu: Emulator, req: Request, caller: Caller) -> Response:
    user = _member_target(emu, req, caller)
    select = _select(req, GROUP_PROPERTIES | ROLE_PROPERTIES)
    items = _memberships(caller, user["id"], directory.direct_groups(caller.tenant, user["id"]), select, False)
    return _page(emu, req, items, "directoryObjects")


@graph_route("GET", "/me/transitiveMemberOf", "/users/{id}/transitiveMemberOf")
def list_transitive_member_of(emu: Emulator, req: Request, caller: Caller) -> Response:
    user = _member_target(emu, req, caller)
    select = _select(req, GROUP_PROPERTIES | ROLE_PROPERTIES)
    items = _memberships(caller, user["id"], directory.transitive_groups(caller.tenant, user["id"]), select, False)
    return _page(emu, req, items, "directoryObjects")


@graph_route("GET", "/me/memberOf/microsoft.graph.group", "/users/{id}/memberOf/microsoft.graph.group")
def list_member_of_groups(emu: Emulator, req: Request, caller: Caller) -> Response:
    user = _member_target(emu, req, caller)
    select = _select(req, GROUP_PROPERTIES, "group")
    items = _memberships(caller, user["id"], directory.direct_groups(caller.tenant, user["id"]), select, True)
    return _page(emu, req, items, "groups")


@graph_route("GET", "/me/transitiveMemberOf/microsoft.graph.group",
             "/users/{id}/transitiveMemberOf/microsoft.graph.group")
def list_transitive_member_of_groups(emu: Emulator, req: Request, caller: Caller) -> Response:
    user = _member_target(emu, req, caller)
    select = _select(req, GROUP_PROPERTIES, "group")
    items = _memberships(caller, user["id"], directory.transitive_groups(caller.tenant, user["id"]), select, True)
    return _page(emu, req, items, "groups")


@graph_route("POST", "/me/checkMemberGroups", "/users/{id}/checkMemberGroups")
def check_member_groups(emu: Emulator, req: Request, caller: Caller) -> Response:
    """``{"groupIds": [...]}`` → the ones the user is a member of, directly or through nested groups."""
    user = _member_target(emu, req, caller)
    ids = body_json(req).get("groupIds")
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise GraphError(400, "Request_BadRequest", "Invalid value specified for property 'groupIds'.")
    if len(ids) > CHECK_LIMIT:
        raise GraphError(400, "Request_BadRequest",
                         f"The number of groupIds ({len(ids)}) exceeds the maximum allowed ({CHECK_LIMIT}).")
    mine = {g["id"] for g in directory.transitive_groups(caller.tenant, user["id"])}
    return ok(req, {"@odata.context": STRINGS, "value": [i for i in ids if i.lower() in mine]})


def _security_only(req: Request) -> bool:
    value = body_json(req).get("securityEnabledOnly", False)
    if not isinstance(value, bool):
        raise GraphError(400, "Request_BadRequest", "Invalid value specified for property 'securityEnabledOnly'.")
    return value


@graph_route("POST", "/me/getMemberGroups", "/users/{id}/getMemberGroups")
def get_member_groups(emu: Emulator, req: Request, caller: Caller) -> Response:
    """``{"securityEnabledOnly": bool}`` → the ids of every group the user is a transitive member of."""
    user = _member_target(emu, req, caller)
    only = _security_only(req)
    groups = [g["id"] for g in directory.transitive_groups(caller.tenant, user["id"])
              if g.get("securityEnabled", True) or not only]
    return ok(req, {"@odata.context": STRINGS, "value": groups})


@graph_route("POST", "/me/getMemberObjects", "/users/{id}/getMemberObjects")
def get_member_objects(emu: Emulator, req: Request, caller: Caller) -> Response:
    """As getMemberGroups, plus the directory roles the user holds (where the overage claim points)."""
    user = _member_target(emu, req, caller)
    only = _security_only(req)
    groups = [g["id"] for g in directory.transitive_groups(caller.tenant, user["id"])
              if g.get("securityEnabled", True) or not only]
    held = held_roles(caller.tenant, user["id"])
    roles = [r["id"] for r in caller.tenant["directoryRoles"] if r["roleTemplateId"] in held]
    return ok(req, {"@odata.context": STRINGS, "value": groups + roles})
