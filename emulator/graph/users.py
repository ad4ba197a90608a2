"""Users: list (with OData), get, /me, create, update, delete, manager, directReports."""

from __future__ import annotations

import re
import uuid
from typing import TYPE_CHECKING, Any

from emulator import directory
from emulator.graph import odata
from emulator.graph.api import GraphError, body_json, graph_route, no_content, ok, raw
from emulator.graph.auth import (
    DIRECTORY_DENIED,
    USER_SELF_READ,
    USER_SELF_WRITE,
    USER_WRITE_ROLES,
    USERS_READ,
    USERS_WRITE,
    Caller,
    Permission,
    held_roles,
)
from emulator.seed import GLOBAL_ADMIN

if TYPE_CHECKING:
    from emulator.app import Emulator
    from emulator.routing import Request, Response

# The properties Graph returns when no $select is given.
DEFAULT_PROPERTIES = ["businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone",
                      "officeLocation", "preferredLanguage", "surname", "userPrincipalName", "id"]
# Every property Graph v1.0 declares on microsoft.graph.user (its CSDL; tests/emulator/
# test_graph_conformance.py checks this list against the extract it keeps): any may be $selected.
KNOWN_PROPERTIES = {
    "id", "deletedDateTime", "aboutMe", "accountEnabled", "ageGroup", "assignedLicenses", "assignedPlans",
    "authorizationInfo", "birthday", "businessPhones", "city", "companyName", "consentProvidedForMinor", "country",
    "createdDateTime", "creationType", "customSecurityAttributes", "department", "deviceEnrollmentLimit",
    "displayName", "employeeHireDate", "employeeId", "employeeLeaveDateTime", "employeeOrgData", "employeeType",
    "externalUserState", "externalUserStateChangeDateTime", "faxNumber", "givenName", "hireDate", "identities",
    "identityParentId", "imAddresses", "interests", "isManagementRestricted", "isResourceAccount", "jobTitle",
    "lastPasswordChangeDateTime", "legalAgeGroupClassification", "licenseAssignmentStates", "mail",
    "mailboxSettings", "mailNickname", "mobilePhone", "mySite", "officeLocation", "onPremisesDistinguishedName",
    "onPremisesDomainName", "onPremisesExtensionAttributes", "onPremisesImmutableId", "onPremisesLastSyncDateTime",
    "onPremisesProvisioningErrors", "onPremisesSamAccountName", "onPremisesSecurityIdentifier",
    "onPremisesSyncEnabled", "onPremisesUserPrincipalName", "otherMails", "passwordPolicies", "passwordProfile",
    "pastProjects", "postalCode", "preferredDataLocation", "preferredLanguage", "preferredName", "print",
    "provisionedPlans", "proxyAddresses", "responsibilities", "schools", "securityIdentifier",
    "serviceProvisioningErrors", "showInAddressList", "signInActivity", "signInSessionsValidFromDateTime", "skills",
    "state", "streetAddress", "surname", "usageLocation", "userPrincipalName", "userType",
}
# Collections come back [] when empty, never null.
COLLECTIONS = {
    "assignedLicenses", "assignedPlans", "businessPhones", "identities", "imAddresses", "interests",
    "licenseAssignmentStates", "onPremisesProvisioningErrors", "otherMails", "pastProjects", "provisionedPlans",
    "proxyAddresses", "responsibilities", "schools", "serviceProvisioningErrors", "skills",
}
# What Graph answers for a property the directory holds no value for, where that is not null.
NULL_DATE = "0001-01-01T08:00:00Z"  # SharePoint-backed dates (birthday, hireDate) are never null
UNSET = {"birthday": NULL_DATE, "hireDate": NULL_DATE, "deviceEnrollmentLimit": 5, "userType": "Member",
         "authorizationInfo": {"certificateUserIds": []}}
# Seed bookkeeping that is not part of the user resource and must never be serialized.
INTERNAL = {"manager", "photo", "calendars", "passwordProfile"}
WRITABLE = {
    "accountEnabled", "ageGroup", "city", "companyName", "country", "department", "employeeId", "employeeType",
    "faxNumber", "imAddresses", "mailNickname", "otherMails", "passwordPolicies", "passwordProfile", "postalCode",
    "proxyAddresses", "state", "streetAddress", "usageLocation", "userType", "hireDate", "aboutMe",
    "businessPhones", "displayName", "givenName", "jobTitle", "mail", "mobilePhone", "officeLocation",
    "preferredLanguage", "surname", "userPrincipalName",
}
REQUIRED_ON_CREATE = ["accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile"]
FILTERABLE = {"id", "displayName", "givenName", "surname", "userPrincipalName", "mail", "mailNickname",
              "jobTitle", "department", "officeLocation", "accountEnabled", "usageLocation", "employeeId",
              "createdDateTime", "userType", "companyName", "country", "city"}
SEARCHABLE = {"displayName", "givenName", "surname", "mail", "userPrincipalName", "mailNickname", "jobTitle",
              "department"}


def not_found(key: str) -> GraphError:
    return GraphError(404, "Request_ResourceNotFound",
                      f"Resource '{key}' does not exist or one of its queried reference-property objects "
                      "are not present.")


def me_only_delegated() -> GraphError:
    return GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")


def target_user(emu: Emulator, req: Request, caller: Caller, missing: Any = not_found) -> dict[str, Any]:
    """The user a ``/me/...`` or ``/users/{id}/...`` path names, within the caller's tenant only."""
    key = req.params.get("id")
    if key is None:
        if caller.user is None:
            raise me_only_delegated()
        return caller.user
    user = emu.user(caller.tenant, key)
    if user is None:
        raise missing(key)
    return user


def precheck(req: Request, caller: Caller, permission: Permission) -> None:
    """Permission before existence, like Graph: a caller without rights learns nothing."""
    key = req.params.get("id")
    if key is None or caller.allowed(permission):
        return
    if caller.user is not None and key.lower() in (caller.user["id"], caller.user["userPrincipalName"].lower()):
        return  # the caller names themself; the self rules decide
    raise GraphError(403, *DIRECTORY_DENIED)


def view(user: dict[str, Any], select: list[str] | None, odata_type: bool = False) -> dict[str, Any]:
    fields = select or DEFAULT_PROPERTIES
    out: dict[str, Any] = {"@odata.type": "#microsoft.graph.user"} if odata_type else {}
    for f in fields:
        value = None if f in INTERNAL else user.get(f)
        if value is None:
            value = derived(user, f)
        out[f] = value
    return out


def derived(user: dict[str, Any], prop: str) -> Any:
    """A property the seed does not hold, as Graph shows it for a cloud-only member."""
    if prop in COLLECTIONS:
        if prop == "identities":
            upn = user["userPrincipalName"]
            return [{"signInType": "userPrincipalName", "issuer": upn.split("@")[1], "issuerAssignedId": upn}]
        if prop == "proxyAddresses" and user.get("mail"):
            return [f"SMTP:{user['mail']}"]
        return []
    if prop == "securityIdentifier":  # S-1-12-1- and the object id's four 32-bit words
        words = uuid.UUID(user["id"]).bytes_le
        return "S-1-12-1-" + "-".join(str(int.from_bytes(words[i:i + 4], "little")) for i in range(0, 16, 4))
    if prop == "onPremisesExtensionAttributes":
        return {f"extensionAttribute{i}": None for i in range(1, 16)}
    if prop == "mailboxSettings":
        return {"timeZone": "UTC", "dateFormat": "M/d/yyyy", "timeFormat": "h:mm tt", "userPurpose": "user",
                "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
                "language": {"locale": user.get("preferredLanguage") or "en-US", "displayName": None},
                "workingHours": {"daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
                                 "startTime": "08:00:00.0000000", "endTime": "17:00:00.0000000",
                                 "timeZone": {"name": "UTC"}}}
    value = UNSET.get(prop)
    return dict(value) if isinstance(value, dict) else value


def require_read(caller: Caller, user: dict[str, Any]) -> None:
    if caller.is_self(user) and caller.allowed(USER_SELF_READ):
        return
    caller.require(USERS_READ)


def require_write(caller: Caller, user: dict[str, Any] | None) -> None:
    """Writes to users: User.ReadWrite.All, and a delegated caller must be a user admin.

    A User Administrator cannot modify a Global Administrator (a more privileged admin).
    """
    if user is not None and caller.is_self(user) and caller.allowed(USER_SELF_WRITE):
        return
    caller.require(USERS_WRITE)
    caller.require_admin(USER_WRITE_ROLES)
    if (user is not None and caller.delegated and GLOBAL_ADMIN not in caller.directory_roles()
            and GLOBAL_ADMIN in held_roles(caller.tenant, user["id"])):
        raise GraphError(403, *DIRECTORY_DENIED)


# -- list -------------------------------------------------------------------------------------


def _filter_rules(advanced: bool) -> odata.FilterRules:
    return odata.FilterRules(
        properties=FILTERABLE,
        resource="User",
        functions={"startswith", "endswith"},
        advanced_only={"ne", "not", "endswith"},
        advanced=advanced,
        unknown_property=lambda name: GraphError(
            400, "Request_BadRequest",
            f"Property '{name}' does not exist as a declared property or extension property."),
    )


@graph_route("GET", "/users")
def list_users(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(USERS_READ)
    select = odata.parse_select(req, KNOWN_PROPERTIES, "user")
    consistency = odata.eventual(req)
    count = odata.want_count(req)
    search = req.query.get("$search")
    if count and not consistency:
        raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
    if search is not None and not consistency:
        raise GraphError(400, "Request_UnsupportedQuery",
                         "Request with $search query parameter only works through MSGraph with a special "
                         "request header: 'ConsistencyLevel: eventual'")
    # Advanced query capabilities (ne, not, endswith, $filter with $orderby) need both the header
    # and $count=true (or $search), exactly as the directory documents.
    advanced = consistency and (count or search is not None)
    predicate = odata.parse_filter(req.query.get("$filter"), _filter_rules(advanced))
    order_fields = {"displayName", "userPrincipalName"}
    if advanced:
        order_fields |= {"mail", "givenName", "surname", "createdDateTime", "jobTitle", "department"}
    order = odata.parse_orderby(req, order_fields)
    if order and predicate is not None and not advanced:
        raise GraphError(400, "Request_UnsupportedQuery", "Sorting not supported for current query.")
    top = odata.parse_top(req, 100, 999)
    users = caller.tenant["users"]
    if predicate is not None:
        users = [u for u in users if predicate(u)]
    if search is not None:
        matcher = odata.parse_search(search.strip(), SEARCHABLE)
        users = [u for u in users if matcher(u)]
    if order:
        users = odata.sort_items(users, order)
    chunk, link = odata.page_by_skiptoken(emu, req, users, top)
    body: dict[str, Any] = {"@odata.context": odata.context("users", select)}
    if count:
        body["@odata.count"] = len(users)
    if link:
        body["@odata.nextLink"] = link
    expand = parse_expand(req)
    body["value"] = [with_expansion(caller, u, view(u, select), expand) for u in chunk]
    return ok(req, body)


@graph_route("GET", "/users/$count")
def count_users(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(USERS_READ)
    if not odata.eventual(req):
        raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
    predicate = odata.parse_filter(req.query.get("$filter"), _filter_rules(True))
    users = [u for u in caller.tenant["users"] if predicate is None or predicate(u)]
    return raw(req, str(len(users)).encode(), "text/plain")


# -- one user ---------------------------------------------------------------------------------


@graph_route("GET", "/me", "/users/{id}")
def get_user(emu: Emulator, req: Request, caller: Caller) -> Response:
    precheck(req, caller, USERS_READ)
    user = target_user(emu, req, caller)
    require_read(caller, user)
    select = odata.parse_select(req, KNOWN_PROPERTIES, "user")
    expand = parse_expand(req)
    body = {"@odata.context": odata.context("users", select) + "/$entity",
            **with_expansion(caller, user, view(user, select), expand)}
    return ok(req, body)


_EXPAND = re.compile(r"^\s*manager\s*(?:\(\s*\$select\s*=\s*([\w,\s]+)\))?\s*$", re.IGNORECASE)


def parse_expand(req: Request) -> list[str] | None:
    """``$expand=manager`` or ``manager($select=a,b)``: the manager's $select (empty for the
    default property set), or None when nothing is expanded."""
    raw_expand = req.query.get("$expand")
    if raw_expand is None:
        return None
    m = _EXPAND.match(raw_expand)
    if not m:
        name = raw_expand.split("(")[0].strip()
        raise GraphError(400, "Request_BadRequest",
                         f"Could not find a navigation property named '{name}' on type 'microsoft.graph.user'.")
    if not m.group(1):
        return []
    fields = [f.strip() for f in m.group(1).split(",") if f.strip()]
    unknown = [f for f in fields if f not in KNOWN_PROPERTIES]
    if unknown:
        raise GraphError(400, "Request_BadRequest",
                         f"Could not find a property named '{unknown[0]}' on type 'microsoft.graph.user'.")
    return fields


def with_expansion(caller: Caller, user: dict[str, Any], out: dict[str, Any],
                   expand: list[str] | None) -> dict[str, Any]:
    """Graph inlines the manager when expanded and leaves the property out when there is none."""
    if expand is None:
        return out
    manager = next((u for u in caller.tenant["users"] if u["id"] == user.get("manager")), None)
    if manager is not None:
        out["manager"] = view(manager, expand or None, odata_type=True)
    return out


def _check_properties(body: dict[str, Any]) -> None:
    for key in body:
        if key.startswith("@odata"):
            continue
        if key not in KNOWN_PROPERTIES:
            raise GraphError(400, "Request_BadRequest",
                             f"Property '{key}' does not exist as a declared property or extension property.")
        if key not in WRITABLE:
            raise GraphError(400, "Request_BadRequest", f"Property '{key}' is read-only and cannot be set.")


def _check_upn(emu: Emulator, tenant: dict[str, Any], upn: Any, exclude: str | None = None) -> str:
    if not isinstance(upn, str) or upn.count("@") != 1 or not upn.split("@")[0]:
        raise GraphError(400, "Request_BadRequest",
                         "Invalid value specified for property 'userPrincipalName' of resource 'User'.")
    domain = upn.split("@")[1].lower()
    if domain not in (d.lower() for d in tenant["domains"]):
        raise GraphError(400, "Request_BadRequest",
                         "The domain portion of the userPrincipalName property is invalid. You must use one of "
                         "the verified domain names in your organization.")
    existing = emu.user(tenant, upn)
    if existing is not None and existing["id"] != exclude:
        raise GraphError(400, "Request_BadRequest",
                         "Another object with the same value for property userPrincipalName already exists.")
    return upn


@graph_route("POST", "/users")
def create_user(emu: Emulator, req: Request, caller: Caller) -> Response:
    require_write(caller, None)
    body = body_json(req)
    _check_properties(body)
    for prop in REQUIRED_ON_CREATE:
        value = body.get(prop)
        if value is None or value == "" or (prop == "passwordProfile" and not (
                isinstance(value, dict) and value.get("password"))):
            raise GraphError(400, "Request_BadRequest",
                             f"Invalid value specified for property '{prop}' of resource 'User'.")
    if not isinstance(body["accountEnabled"], bool):
        raise GraphError(400, "Request_BadRequest",
                         "Invalid value specified for property 'accountEnabled' of resource 'User'.")
    tenant = caller.tenant
    upn = _check_upn(emu, tenant, body["userPrincipalName"])
    fields = {k: v for k, v in body.items() if not k.startswith("@odata")}
    user = directory.new_user(emu, tenant, {**fields, "userPrincipalName": upn})
    out = {"@odata.context": odata.context("users") + "/$entity", **view(user, None)}
    return ok(req, out, 201, {"Location": f"{emu.base_url}/v1.0/users/{user['id']}"})


@graph_route("PATCH", "/me", "/users/{id}")
def update_user(emu: Emulator, req: Request, caller: Caller) -> Response:
    precheck(req, caller, USERS_WRITE)
    user = target_user(emu, req, caller)
    require_write(caller, user)
    body = body_json(req)
    _check_properties(body)
    if "userPrincipalName" in body:
        _check_upn(emu, caller.tenant, body["userPrincipalName"], exclude=user["id"])
    if "accountEnabled" in body and not isinstance(body["accountEnabled"], bool):
        raise GraphError(400, "Request_BadRequest",
                         "Invalid value specified for property 'accountEnabled' of resource 'User'.")
    for key, value in body.items():
        if not key.startswith("@odata"):
            user[key] = value
    directory.touch(caller.tenant, user)
    return no_content(req)


@graph_route("DELETE", "/users/{id}")
def delete_user(emu: Emulator, req: Request, caller: Caller) -> Response:
    caller.require(USERS_WRITE)
    caller.require_admin(USER_WRITE_ROLES)
    user = target_user(emu, req, caller)
    require_write(caller, user)
    directory.delete_user(emu, caller.tenant, user)
    return no_content(req)


# -- relationships ------------------------------------------------------------------------------


@graph_route("GET", "/me/manager", "/users/{id}/manager")
def get_manager(emu: Emulator, req: Request, caller: Caller) -> Response:
    precheck(req, caller, USERS_READ)
    user = target_user(emu, req, caller)
    require_read(caller, user)
    manager = emu.user(caller.tenant, user["manager"]) if user.get("manager") else None
    if manager is None:
        raise not_found("manager")
    select = odata.parse_select(req, KNOWN_PROPERTIES, "user")
    body = {"@odata.context": odata.context("directoryObjects") + "/$entity", **view(manager, select, True)}
    return ok(req, body)


@graph_route("PUT", "/me/manager/$ref", "/users/{id}/manager/$ref")
def set_manager(emu: Emulator, req: Request, caller: Caller) -> Response:
    user = target_user(emu, req, caller)
    caller.require(USERS_WRITE)
    caller.require_admin(USER_WRITE_ROLES)
    ref = body_json(req).get("@odata.id")
    if not isinstance(ref, str) or "/" not in ref:
        raise GraphError(400, "Request_BadRequest", "Invalid value specified for property '@odata.id'.")
    manager = emu.user(caller.tenant, ref.rstrip("/").rsplit("/", 1)[-1])
    if manager is None:
        raise not_found(ref.rstrip("/").rsplit("/", 1)[-1])
    if manager["id"] == user["id"]:
        raise GraphError(400, "Request_BadRequest", "A user cannot be their own manager.")
    user["manager"] = manager["id"]
    return no_content(req)


@graph_route("DELETE", "/me/manager/$ref", "/users/{id}/manager/$ref")
def remove_manager(emu: Emulator, req: Request, caller: Caller) -> Response:
    user = target_user(emu, req, caller)
    caller.require(USERS_WRITE)
    caller.require_admin(USER_WRITE_ROLES)
    if not user.get("manager"):
        raise not_found("manager")
    user["manager"] = None
    return no_content(req)


@graph_route("GET", "/me/directReports", "/users/{id}/directReports")
def direct_reports(emu: Emulator, req: Request, caller: Caller) -> Response:
    precheck(req, caller, USERS_READ)
    user = target_user(emu, req, caller)
    require_read(caller, user)
    select = odata.parse_select(req, KNOWN_PROPERTIES, "user")
    reports = [view(u, select, True) for u in caller.tenant["users"] if u.get("manager") == user["id"]]
    return ok(req, odata.directory_page(emu, req, reports, "directoryObjects"))
