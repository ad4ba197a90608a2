"""The directory's objects and how they change: users' change sequence, deletion and restore, groups
with nested membership, app roles and their assignments.

Graph, the token endpoint and the control API all change the directory through these functions, so
a users delta query sees every change whichever door it came through. Each tenant keeps a change
sequence (``_change_seq``); every change to a user stamps the user (or its tombstone) with the next
number (``_changed``). A delta round is then "objects stamped after the round's start and no later
than its end", which a page link can name exactly (emulator/graph/delta.py).

Callers hold ``emu.lock``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from emulator.seed import app_role, stable_id

if TYPE_CHECKING:
    from emulator.app import Emulator

GROUPS_CLAIM_LIMIT = 200  # Entra leaves `groups` out of a JWT past 200 groups (the overage indicator)
ALLOWED_MEMBER_TYPES = ("User", "Application")


def prepare(tenant: dict[str, Any]) -> None:
    """Fill in what a seed may leave out and number the users, as if each had just changed."""
    tenant.setdefault("groups", [])
    tenant.setdefault("deletedUsers", [])
    tenant.setdefault("purgedUsers", [])  # tombstones of permanently deleted users: id and _changed
    tenant.setdefault("appRoleAssignments", [])
    tenant.setdefault("roleAssignments", [])
    for group in tenant["groups"]:
        group.setdefault("members", [])
        group.setdefault("securityEnabled", True)
        group.setdefault("mailEnabled", False)
        group.setdefault("groupTypes", [])
        group.setdefault("createdDateTime", "2024-01-15T09:00:00Z")
    seq = tenant.get("_change_seq", 0)
    for user in tenant["users"]:
        if "_changed" not in user:
            seq += 1
            user["_changed"] = seq
    tenant["_change_seq"] = seq


def touch(tenant: dict[str, Any], obj: dict[str, Any]) -> None:
    """Record that a user (or its tombstone) changed: the next delta round reports it."""
    tenant["_change_seq"] = tenant.get("_change_seq", 0) + 1
    obj["_changed"] = tenant["_change_seq"]


def iso_now(emu: Emulator) -> str:
    return datetime.fromtimestamp(emu.now(), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# -- users: delete, restore, purge ------------------------------------------------------------------


def delete_user(emu: Emulator, tenant: dict[str, Any], user: dict[str, Any]) -> None:
    """Soft delete, as Graph's DELETE /users/{id}: the user moves to deleted items, restorable for 30
    days; their group memberships, directory roles and app role assignments go with them and come back
    on restore."""
    uid = user["id"]
    tenant["users"] = [u for u in tenant["users"] if u["id"] != uid]
    user["deletedDateTime"] = iso_now(emu)
    user["_memberOf"] = [g["id"] for g in tenant["groups"] if uid in g["members"]]
    user["_roleAssignments"] = [a for a in tenant["roleAssignments"] if a["principalId"] == uid]
    user["_appRoleAssignments"] = [a for a in tenant["appRoleAssignments"] if a["principalId"] == uid]
    _detach(tenant, uid)
    for other in tenant["users"]:
        if other.get("manager") == uid:
            other["manager"] = None
    touch(tenant, user)
    tenant["deletedUsers"].append(user)


def _detach(tenant: dict[str, Any], object_id: str) -> None:
    for group in tenant["groups"]:
        if object_id in group["members"]:
            group["members"] = [m for m in group["members"] if m != object_id]
    tenant["roleAssignments"] = [a for a in tenant["roleAssignments"] if a["principalId"] != object_id]
    tenant["appRoleAssignments"] = [a for a in tenant["appRoleAssignments"] if a["principalId"] != object_id]


def deleted_user(tenant: dict[str, Any], key: str) -> dict[str, Any] | None:
    key = key.lower()
    for u in tenant["deletedUsers"]:
        if u["id"] == key or u["userPrincipalName"].lower() == key:
            return u
    return None


def restore_user(tenant: dict[str, Any], user: dict[str, Any]) -> None:
    """Back from deleted items with the memberships and assignments it had."""
    tenant["deletedUsers"] = [u for u in tenant["deletedUsers"] if u["id"] != user["id"]]
    user["deletedDateTime"] = None
    groups = {g["id"]: g for g in tenant["groups"]}
    for gid in user.pop("_memberOf", []):
        if gid in groups and user["id"] not in groups[gid]["members"]:
            groups[gid]["members"].append(user["id"])
    tenant["roleAssignments"].extend(user.pop("_roleAssignments", []))
    tenant["appRoleAssignments"].extend(user.pop("_appRoleAssignments", []))
    touch(tenant, user)
    tenant["users"].append(user)


def purge_user(emu: Emulator, tenant: dict[str, Any], user: dict[str, Any]) -> None:
    """Permanent deletion (from the users or from deleted items): only a tombstone stays, for delta."""
    if any(u["id"] == user["id"] for u in tenant["users"]):
        delete_user(emu, tenant, user)
    tenant["deletedUsers"] = [u for u in tenant["deletedUsers"] if u["id"] != user["id"]]
    tombstone = {"id": user["id"]}
    touch(tenant, tombstone)
    tenant["purgedUsers"].append(tombstone)


def new_user(emu: Emulator, tenant: dict[str, Any], fields: dict[str, Any],
             user_id: str | None = None) -> dict[str, Any]:
    """A cloud-only member with Graph's empty values, stamped as a change."""
    from emulator.graph.calendar import new_calendar

    user: dict[str, Any] = {
        "businessPhones": [], "givenName": None, "surname": None, "jobTitle": None, "mail": None,
        "mobilePhone": None, "officeLocation": None, "preferredLanguage": None, "department": None,
        "usageLocation": None, "accountEnabled": True, **fields,
        "id": user_id or str(uuid.uuid4()),
        "createdDateTime": iso_now(emu),
        "manager": None,
        "photo": False,
    }
    user["calendars"] = [new_calendar(user, "Calendar", default=True)]
    touch(tenant, user)
    tenant["users"].append(user)
    return user


# -- groups ---------------------------------------------------------------------------------------


def group(tenant: dict[str, Any], key: str) -> dict[str, Any] | None:
    key = key.lower()
    return next((g for g in tenant["groups"] if g["id"] == key), None)


def new_group(tenant: dict[str, Any], display_name: str, *, group_id: str | None = None,
              security_enabled: bool = True, description: str | None = None, now: str) -> dict[str, Any]:
    nickname = "".join(c for c in display_name.lower() if c.isalnum())[:60] or "group"
    created: dict[str, Any] = {"id": group_id or stable_id(tenant["id"], "group", display_name, str(uuid.uuid4())),
               "displayName": display_name, "mailNickname": nickname, "description": description,
               "securityEnabled": security_enabled, "mailEnabled": False, "groupTypes": [],
               "createdDateTime": now, "members": []}
    tenant["groups"].append(created)
    return created


def delete_group(tenant: dict[str, Any], gid: str) -> None:
    tenant["groups"] = [g for g in tenant["groups"] if g["id"] != gid]
    _detach(tenant, gid)


def direct_groups(tenant: dict[str, Any], object_id: str) -> list[dict[str, Any]]:
    return [g for g in tenant["groups"] if object_id in g["members"]]


def transitive_groups(tenant: dict[str, Any], object_id: str) -> list[dict[str, Any]]:
    """Every group ``object_id`` belongs to directly or through nested groups, nearest first."""
    containing: dict[str, list[dict[str, Any]]] = {}
    for g in tenant["groups"]:
        for member in g["members"]:
            containing.setdefault(member, []).append(g)
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    frontier = [object_id]
    while frontier:
        following: list[str] = []
        for oid in frontier:
            for g in containing.get(oid, ()):
                if g["id"] not in seen:
                    seen.add(g["id"])
                    out.append(g)
                    following.append(g["id"])
        frontier = following
    return out


def would_cycle(tenant: dict[str, Any], parent_id: str, child_id: str) -> bool:
    """Adding group ``child_id`` to ``parent_id`` would make a group its own member."""
    return parent_id == child_id or any(g["id"] == child_id for g in transitive_groups(tenant, parent_id))


# -- app roles and their assignments ----------------------------------------------------------------


def app_roles(app: dict[str, Any]) -> list[dict[str, Any]]:
    return list(app.setdefault("appRoles", []))


def define_app_role(app: dict[str, Any], value: str, display_name: str | None = None,
                    description: str | None = None, member_types: Iterable[str] = ("User",)) -> dict[str, Any]:
    """An app role on the registration (App roles → Create app role); defining it again changes nothing."""
    for role in app.setdefault("appRoles", []):
        if role["value"] == value:
            return dict(role)
    role = {**app_role(app["client_id"], value, description), "displayName": display_name or value,
            "allowedMemberTypes": list(member_types)}
    app["appRoles"].append(role)
    return dict(role)


def role_by_value(app: dict[str, Any], value: str) -> dict[str, Any] | None:
    return next((r for r in app.get("appRoles", []) if r["value"] == value), None)


def assign_app_role(emu: Emulator, tenant: dict[str, Any], app: dict[str, Any], role: dict[str, Any],
                    principal_id: str, principal_type: str) -> dict[str, Any]:
    """Assign an app role to a user or group (Enterprise applications → Users and groups)."""
    resource_id = emu.service_principal_id(tenant["id"], app["client_id"])
    for a in tenant["appRoleAssignments"]:
        if (a["principalId"], a["resourceId"], a["appRoleId"]) == (principal_id, resource_id, role["id"]):
            return a
    # Graph's assignment ids are opaque base64url strings, not GUIDs.
    assignment = {"id": stable_id("assignment", principal_id, resource_id, role["id"]).replace("-", "")[:32] + "AA",
                  "appRoleId": role["id"], "principalId": principal_id, "principalType": principal_type,
                  "resourceId": resource_id, "createdDateTime": iso_now(emu), "_clientId": app["client_id"]}
    tenant["appRoleAssignments"].append(assignment)
    return assignment


def unassign_app_role(tenant: dict[str, Any], app: dict[str, Any], role: dict[str, Any], principal_id: str) -> bool:
    before = len(tenant["appRoleAssignments"])
    tenant["appRoleAssignments"] = [
        a for a in tenant["appRoleAssignments"]
        if not (a["principalId"] == principal_id and a["appRoleId"] == role["id"]
                and a.get("_clientId") == app["client_id"])]
    return len(tenant["appRoleAssignments"]) != before


def role_values(emu: Emulator, tenant: dict[str, Any], app: dict[str, Any], user_id: str) -> list[str]:
    """The ``roles`` claim: values of the app's enabled roles assigned to the user or to a group the
    user is a direct member of (Entra does not pass group assignments down nested groups)."""
    resource_id = emu.service_principal_id(tenant["id"], app["client_id"])
    principals = {user_id, *(g["id"] for g in direct_groups(tenant, user_id))}
    by_id = {r["id"]: r for r in app.get("appRoles", []) if r.get("isEnabled", True)}
    out: list[str] = []
    for a in tenant["appRoleAssignments"]:
        if a["resourceId"] == resource_id and a["principalId"] in principals and a["appRoleId"] in by_id:
            value = by_id[a["appRoleId"]]["value"]
            if value not in out:
                out.append(value)
    return out


def principal_name(tenant: dict[str, Any], principal_id: str) -> str | None:
    for u in tenant["users"]:
        if u["id"] == principal_id:
            return str(u["displayName"])
    found = group(tenant, principal_id)
    return str(found["displayName"]) if found else None
