"""Microsoft 365 Users: the users family of Graph functions."""

from __future__ import annotations

import base64
import re
from typing import Any
from urllib.parse import unquote, urlsplit

from graphfns.client import graph_failure
from graphfns.errors import FunctionError
from graphfns.registry import USER_ID, Call, function, schema
from graphfns.resources import (
    PAGING,
    REQUEST_PARAMS,
    SELECT,
    checked_path,
    collection,
    entity,
    is_type_cast,
    joined,
    pass_through,
    segment,
    select,
    user_root,
)
from membership.validators import is_guid

READ_ONE = ("User.Read", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
READ_ALL = ("User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
APP_READ = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All")
WRITE = ("User.ReadWrite.All", "Directory.ReadWrite.All")
APP_WRITE = ("User.ReadWrite.All", "Directory.ReadWrite.All")
MEMBER_OF = ("User.Read", "User.ReadBasic.All", "GroupMember.Read.All", "User.Read.All", "Directory.Read.All")
APP_MEMBER_OF = ("User.Read.All", "GroupMember.Read.All", "Directory.Read.All")
PHOTO = ("User.Read", "ProfilePhoto.Read.All", "User.ReadBasic.All", "User.Read.All", "Directory.Read.All")
APP_PHOTO = ("ProfilePhoto.Read.All", "User.Read.All", "Directory.Read.All")
ROLES_READ = ("RoleManagement.Read.Directory", "Directory.Read.All", "RoleManagement.ReadWrite.Directory",
              "Directory.ReadWrite.All")
ROLES_WRITE = ("RoleManagement.ReadWrite.Directory",)
ANY_USER = ("User.Read", "User.ReadWrite", "User.ReadBasic.All", "User.Read.All", "User.ReadWrite.All",
            "Directory.Read.All", "Directory.ReadWrite.All")
APP_ANY_USER = ("User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All")

OBJECT_ID = {"type": "string", "minLength": 1, "maxLength": 200}
ROLE = {"type": "string", "minLength": 1, "maxLength": 256,
        "description": "A directory role: its template id, or its display name (e.g. 'User Administrator')."}

_STRING = {"type": "string", "maxLength": 256}
_STRINGS = {"type": "array", "items": {"type": "string", "maxLength": 256}, "maxItems": 50}
# The writable user properties, as Graph names them; anything else is refused before any call.
USER_PROPERTIES: dict[str, Any] = {
    "accountEnabled": {"type": "boolean"},
    "displayName": {"type": "string", "minLength": 1, "maxLength": 256},
    "mailNickname": {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[A-Za-z0-9._\-']+$"},
    "userPrincipalName": {"type": "string", "maxLength": 113, "pattern": r"^[^@\s]+@[^@\s]+\.[^@\s]+$"},
    "passwordProfile": {"type": "object", "additionalProperties": False, "required": ["password"], "properties": {
        "password": {"type": "string", "minLength": 8, "maxLength": 256},
        "forceChangePasswordNextSignIn": {"type": "boolean"},
        "forceChangePasswordNextSignInWithMfa": {"type": "boolean"},
    }},
    "givenName": _STRING, "surname": _STRING, "jobTitle": _STRING, "department": _STRING,
    "officeLocation": _STRING, "companyName": _STRING, "employeeId": {"type": "string", "maxLength": 16},
    "employeeType": _STRING, "mail": {"type": "string", "maxLength": 320}, "mobilePhone": _STRING,
    "businessPhones": {"type": "array", "items": _STRING, "maxItems": 1}, "city": _STRING, "state": _STRING,
    "country": _STRING, "postalCode": {"type": "string", "maxLength": 40}, "streetAddress": _STRING,
    "usageLocation": {"type": "string", "pattern": r"^[A-Z]{2}$"}, "preferredLanguage": {"type": "string",
                                                                                       "maxLength": 10},
    "otherMails": _STRINGS, "ageGroup": _STRING, "passwordPolicies": _STRING, "aboutMe": {"type": "string"},
}
REQUIRED_ON_CREATE = ["accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile"]


def object_id(call: Call, user_id: str) -> str:
    """The Microsoft object id of a user ('me', platform id, object id or UPN)."""
    path = call.user_path(user_id)
    if path == "/me":
        assert call.account is not None  # delegated calls always have one
        return call.account.object_id
    key = unquote(path.rsplit("/", 1)[1])
    if is_guid(key):
        return key
    return str(call.client.get(path, params={"$select": "id"})["id"])


def _odata_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


# -- profiles -------------------------------------------------------------------------------------


@function(
    "users.get",
    description="One user's profile.",
    params=schema({"user_id": USER_ID, "select": SELECT}, ["user_id"]),
    delegated=READ_ONE,
    application=APP_READ,
    example={"user_id": "me", "select": ["displayName", "mail"]},
)
def get(call: Call, params: dict[str, Any]) -> Any:
    return entity(call.client.get(call.user_path(params["user_id"]), params=select(params)))


@function(
    "users.list",
    description="Users of the directory, filtered, searched and ordered; all pages, or one page with a cursor.",
    params=schema({
        "filter": {"type": "string", "maxLength": 2000,
                   "description": "OData $filter, e.g. startswith(displayName,'A')"},
        "search": {"type": "string", "maxLength": 200, "description": "$search, e.g. \"displayName:lee\""},
        "orderby": {"type": "string", "maxLength": 100, "description": "e.g. displayName desc"},
        "select": SELECT,
        **PAGING,
    }),
    delegated=READ_ALL,
    application=APP_READ,
    example={"filter": "startswith(displayName,'L')", "select": ["displayName", "userPrincipalName"], "top": 50},
)
def list_(call: Call, params: dict[str, Any]) -> Any:
    query: dict[str, Any] = select(params)
    headers: dict[str, str] = {}
    if params.get("filter"):
        query["$filter"] = params["filter"]
    if params.get("orderby"):
        query["$orderby"] = params["orderby"]
    if params.get("search"):
        search = params["search"]
        query["$search"] = search if search.startswith('"') else f'"{search}"'
        query["$count"] = "true"
        headers["ConsistencyLevel"] = "eventual"  # $search needs advanced query mode
    return collection(call, "/users", params, query, headers)


@function(
    "users.get_many",
    description="Many users' profiles at once (through $batch); ids that match no user are listed in 'missing'.",
    params=schema({
        "user_ids": {"type": "array", "items": USER_ID, "minItems": 1, "maxItems": 1000, "uniqueItems": True},
        "select": SELECT,
    }, ["user_ids"]),
    delegated=READ_ALL,
    application=APP_READ,
    example={"user_ids": ["adele@contoso.test", "lee@contoso.test"], "select": ["displayName", "mail"]},
    bulk=True,
)
def get_many(call: Call, params: dict[str, Any]) -> Any:
    ids: list[str] = params["user_ids"]
    query = f"?$select={','.join(params['select'])}" if params.get("select") else ""
    found: list[dict[str, Any]] = []
    missing: list[dict[str, Any]] = []
    requests: list[tuple[str, dict[str, Any]]] = []
    for i, user_id in enumerate(ids):
        try:
            requests.append((user_id, {"id": str(i), "method": "GET", "url": call.user_path(user_id) + query}))
        except FunctionError as exc:  # e.g. a platform user without a Microsoft account
            missing.append({"user_id": user_id, "code": exc.code, "message": exc.message})
    unaddressable = len(missing)
    call.report(unaddressable, len(ids))
    answers = call.client.batch([r for _, r in requests],
                                progress=lambda answered: call.report(unaddressable + answered, len(ids)))
    for (user_id, _), answer in zip(requests, answers, strict=True):
        if answer.get("status", 500) < 400:
            found.append(entity(answer.get("body")))
        else:
            failure = graph_failure(answer.get("status", 500), answer.get("body"))
            missing.append({"user_id": user_id, "code": failure.code, "message": failure.message})
    return {"value": found, "count": len(found), "missing": missing}


@function(
    "users.create",
    description="Create a user account (needs a User Administrator when acting for a member).",
    params=schema({"user": {"type": "object", "properties": USER_PROPERTIES, "required": REQUIRED_ON_CREATE,
                            "additionalProperties": False}}, ["user"]),
    delegated=WRITE,
    application=APP_WRITE,
    example={"user": {"accountEnabled": True, "displayName": "Ada Lovelace", "mailNickname": "ada",
                      "userPrincipalName": "ada@contoso.test",
                      "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d", "forceChangePasswordNextSignIn": True}}},
    writes=True,
)
def create(call: Call, params: dict[str, Any]) -> Any:
    return entity(call.client.request("POST", "/users", json=params["user"]).body)


@function(
    "users.update",
    description="Change properties of a user (a member may change their own; others need a User Administrator).",
    params=schema({
        "user_id": USER_ID,
        "changes": {"type": "object", "properties": USER_PROPERTIES, "minProperties": 1,
                    "additionalProperties": False},
    }, ["user_id", "changes"]),
    delegated=("User.ReadWrite", "User.ReadWrite.All", "Directory.ReadWrite.All"),
    application=APP_WRITE,
    example={"user_id": "adele@contoso.test", "changes": {"jobTitle": "Chief Executive Officer",
                                                        "officeLocation": "Building 1"}},
    writes=True,
)
def update(call: Call, params: dict[str, Any]) -> Any:
    call.client.request("PATCH", call.user_path(params["user_id"]), json=params["changes"])
    return {"user_id": params["user_id"], "updated": sorted(params["changes"])}


@function(
    "users.delete",
    description="Delete a user (it stays restorable in deleted items for 30 days).",
    params=schema({"user_id": USER_ID}, ["user_id"]),
    delegated=("User.DeleteRestore.All", "User.ReadWrite.All", "Directory.ReadWrite.All"),
    application=("User.DeleteRestore.All", "User.ReadWrite.All", "Directory.ReadWrite.All"),
    example={"user_id": "ada@contoso.test"},
    writes=True,
)
def delete(call: Call, params: dict[str, Any]) -> Any:
    path = call.user_path(params["user_id"])
    if path == "/me":
        raise FunctionError("ValidationError", "user_id: a member cannot delete themself through 'me'.",
                            field="user_id")
    call.client.request("DELETE", path)
    return {"user_id": params["user_id"], "deleted": True}


# -- relationships ----------------------------------------------------------------------------------


@function(
    "users.manager",
    description="A user's manager (NotFound when they have none).",
    params=schema({"user_id": USER_ID, "select": SELECT}, ["user_id"]),
    delegated=READ_ONE,
    application=APP_READ,
    example={"user_id": "me", "select": ["displayName", "mail", "jobTitle"]},
)
def manager(call: Call, params: dict[str, Any]) -> Any:
    return entity(call.client.get(call.user_path(params["user_id"]) + "/manager", params=select(params)))


@function(
    "users.direct_reports",
    description="The people who report to a user.",
    params=schema({"user_id": USER_ID, "select": SELECT, **PAGING}, ["user_id"]),
    delegated=READ_ONE,
    application=APP_READ,
    example={"user_id": "me", "select": ["displayName", "jobTitle"]},
)
def direct_reports(call: Call, params: dict[str, Any]) -> Any:
    return collection(call, call.user_path(params["user_id"]) + "/directReports", params, select(params))


@function(
    "users.member_of",
    description="The groups and directory roles a user is a direct member of.",
    params=schema({
        "user_id": USER_ID,
        "kind": {"type": "string", "enum": ["group", "directoryRole"], "description": "Only this kind."},
        **PAGING,
    }, ["user_id"]),
    delegated=MEMBER_OF,
    application=APP_MEMBER_OF,
    example={"user_id": "me", "kind": "group"},
)
def member_of(call: Call, params: dict[str, Any]) -> Any:
    return _of_kind(collection(call, call.user_path(params["user_id"]) + "/memberOf", params, {}), params)


def _of_kind(result: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Keep the directory objects of the kind asked for (``kind``: group or directoryRole)."""
    if params.get("kind"):
        wanted = f"#microsoft.graph.{params['kind']}"
        result["value"] = [o for o in result["value"] if o.get("@odata.type") == wanted]
        if "count" in result:
            result["count"] = len(result["value"])
    return result


@function(
    "users.photo",
    description="A user's profile photo as base64 with its content type (NotFound when they have none).",
    params=schema({"user_id": USER_ID}, ["user_id"]),
    delegated=PHOTO,
    application=APP_PHOTO,
    example={"user_id": "me"},
)
def photo(call: Call, params: dict[str, Any]) -> Any:
    answer = call.client.request("GET", call.user_path(params["user_id"]) + "/photo/$value", raw=True,
                                 headers={"Accept": "image/*"})
    content_type = next((v for k, v in answer.headers.items() if k.lower() == "content-type"), "image/jpeg")
    return {"content_type": content_type, "size": len(answer.body),
            "data_base64": base64.b64encode(answer.body).decode()}


# -- directory roles --------------------------------------------------------------------------------


def _role_definitions(call: Call, display_name: str | None = None) -> list[dict[str, Any]]:
    query = {"$filter": f"displayName eq {_odata_string(display_name)}"} if display_name else None
    return list(call.client.pages("/roleManagement/directory/roleDefinitions", params=query))


def _assignments(call: Call, principal_id: str) -> list[dict[str, Any]]:
    query = {"$filter": f"principalId eq {_odata_string(principal_id)}"}
    return list(call.client.pages("/roleManagement/directory/roleAssignments", params=query))


def _role_id(call: Call, role: str) -> str:
    """A role's definition id (for built-in roles, its template id) from a template id or display name."""
    if is_guid(role):
        return role
    found = _role_definitions(call, role)
    if not found:
        raise FunctionError("NotFound", f"There is no directory role named {role!r}. Give its template id or its "
                            "exact display name.", field="role")
    return str(found[0]["id"])


@function(
    "users.directory_roles",
    description="The directory roles assigned to a user: role template id, display name and assignment id "
                "(naming the user by UPN also needs a scope that reads users).",
    params=schema({"user_id": USER_ID}, ["user_id"]),
    delegated=ROLES_READ,
    application=("RoleManagement.Read.Directory", "Directory.Read.All", "RoleManagement.ReadWrite.Directory"),
    example={"user_id": "megan@contoso.test"},
)
def directory_roles(call: Call, params: dict[str, Any]) -> Any:
    assignments = _assignments(call, object_id(call, params["user_id"]))
    names = {d["id"]: d for d in _role_definitions(call)} if assignments else {}
    roles = []
    for a in assignments:
        definition = names.get(a["roleDefinitionId"], {})
        roles.append({"roleTemplateId": definition.get("templateId", a["roleDefinitionId"]),
                      "displayName": definition.get("displayName"), "assignmentId": a["id"],
                      "directoryScopeId": a.get("directoryScopeId", "/")})
    return {"value": roles, "count": len(roles)}


@function(
    "users.assign_directory_role",
    description="Assign a directory role to a user (acting for a member: only a Privileged Role Administrator "
                "or Global Administrator may; naming the user by UPN also needs a scope that reads users); "
                "assigning a role the user holds returns that assignment.",
    params=schema({"user_id": USER_ID, "role": ROLE}, ["user_id", "role"]),
    delegated=ROLES_WRITE,
    application=ROLES_WRITE,
    example={"user_id": "lee@contoso.test", "role": "User Administrator"},
    writes=True,
)
def assign_directory_role(call: Call, params: dict[str, Any]) -> Any:
    role_id = _role_id(call, params["role"])
    principal = object_id(call, params["user_id"])
    body = {"principalId": principal, "roleDefinitionId": role_id, "directoryScopeId": "/"}
    try:
        return entity(call.client.request("POST", "/roleManagement/directory/roleAssignments", json=body).body)
    except FunctionError as exc:
        # A retried assignment (the first answer was lost) conflicts with itself: hand back the one that exists.
        if exc.code != "GraphError" or "conflicting object" not in exc.details.get("graph_message", ""):
            raise
        existing = [a for a in _assignments(call, principal) if a["roleDefinitionId"] == role_id]
        if not existing:
            raise
        return existing[0]


@function(
    "users.remove_directory_role",
    description="Remove a directory role assignment: by assignment_id, or by user_id and role.",
    params=schema({"assignment_id": OBJECT_ID, "user_id": USER_ID, "role": ROLE}),
    delegated=ROLES_WRITE,
    application=ROLES_WRITE,
    example={"user_id": "lee@contoso.test", "role": "User Administrator"},
    writes=True,
)
def remove_directory_role(call: Call, params: dict[str, Any]) -> Any:
    assignment_id = params.get("assignment_id")
    if assignment_id is None:
        if not (params.get("user_id") and params.get("role")):
            raise FunctionError("ValidationError", "Give assignment_id, or both user_id and role.",
                                field="assignment_id")
        role_id = _role_id(call, params["role"])
        held = [a for a in _assignments(call, object_id(call, params["user_id"])) if a["roleDefinitionId"] == role_id]
        if not held:
            raise FunctionError("NotFound", f"{params['user_id']} does not hold the role {params['role']!r}.",
                                field="role")
        assignment_id = held[0]["id"]
    elif params.get("user_id") or params.get("role"):
        raise FunctionError("ValidationError", "Give assignment_id alone, or user_id and role, not both.",
                            field="assignment_id")
    call.client.request("DELETE", f"/roleManagement/directory/roleAssignments/{segment(assignment_id)}")
    return {"assignmentId": assignment_id, "removed": True}


# -- pass-through -----------------------------------------------------------------------------------

# The read-only directory relationships of a user (Graph v1.0 navigation properties) users.request may read;
# mail, calendars, files, authentication methods and the like belong to other families, or to none.
DIRECTORY_RELATIONSHIPS = ("manager", "directReports", "memberOf", "transitiveMemberOf", "ownedObjects",
                           "ownedDevices", "registeredDevices", "createdObjects", "appRoleAssignments",
                           "licenseDetails", "photo", "photos")
_RELATIONSHIPS = {r.lower() for r in DIRECTORY_RELATIONSHIPS}
_SINGLE_VALUED = {"manager", "photo"}
_ALLOWED = ("users.request reaches only a user (/me, /users/{id}; GET /users lists them) and, read-only, its "
            f"directory relationships: {', '.join(DIRECTORY_RELATIONSHIPS)}. Writes (PATCH, DELETE) go only to the "
            "user itself.")


def _is_system_or_cast(seg: str) -> bool:
    return seg.startswith("$") or is_type_cast(seg)  # checked_path lets through only $value, $ref and $count


def _is_directory_read(below_user: list[str]) -> bool:
    """A relationship, then (collections) one member's key, then at most a $ segment or a type cast:
    e.g. manager/$ref, memberOf/microsoft.graph.group/$count, photos/48x48/$value; no further navigation."""
    if not below_user:
        return True
    name, below = below_user[0].lower(), below_user[1:]
    if name not in _RELATIONSHIPS:
        return False
    if name in _SINGLE_VALUED:
        return len(below) <= 1 and all(_is_system_or_cast(s) for s in below)
    return len(below) <= 2 and all(_is_system_or_cast(s) for s in below[1:])


def _expanded(value: str) -> list[str]:
    """The top-level items of an OData $expand, e.g. 'manager($select=id,displayName),memberOf'."""
    items, depth, start = [], 0, 0
    for i, c in enumerate(value):
        depth += (c == "(") - (c == ")")
        if c == "," and depth == 0:
            items.append(value[start:i])
            start = i + 1
    items.append(value[start:])
    return items


def _check_expand(query: dict[str, Any]) -> None:
    # Graph takes query options with or without the $ (v1.0): $expand=events would read the calendar.
    for key, value in query.items():
        if key.lstrip("$").lower() != "expand":
            continue
        for item in _expanded(str(value)):
            found = re.fullmatch(r"\s*([A-Za-z]\w*)\s*(\(.*\))?\s*", item, re.DOTALL)
            if not found or found[1].lower() not in _RELATIONSHIPS or "expand" in (found[2] or "").lower():
                raise FunctionError("ValidationError", "query: $expand may name only the directory relationships "
                                    f"{', '.join(DIRECTORY_RELATIONSHIPS)}, without a nested $expand.",
                                    field="query")


@function(
    "users.request",
    description="A raw Graph request (what CodeMash's Microsoft Functions call a raw request) for a user and "
                "its directory relationships (method, path, query, body): GET, PATCH or DELETE on /me or "
                "/users/{id}, GET on /users, and GET on "
                f"the user's {', '.join(DIRECTORY_RELATIONSHIPS)}. Other paths (mail, calendars, files, "
                "authentication methods) and writes to relationships are refused before any call.",
    params=schema({**REQUEST_PARAMS, "path": {
        **REQUEST_PARAMS["path"],
        "description": "/me or /users/{id} (any method); GET only: /users, or the user followed by one of "
                       f"{', '.join(DIRECTORY_RELATIONSHIPS)} (e.g. /users/{{id}}/manager, /me/memberOf, "
                       "/me/photos/48x48/$value). No query string: use query.",
    }}, ["method", "path"]),
    delegated=ANY_USER,
    application=APP_ANY_USER,
    example={"method": "GET", "path": "/users/lee@contoso.test/manager", "query": {"$select": "displayName"}},
    writes=True,
)
def request(call: Call, params: dict[str, Any]) -> Any:
    segments = checked_path(call, params["path"])
    root = user_root(segments)
    if params["method"] == "GET":
        allowed = [s.lower() for s in segments] == ["users"] or (root > 0 and _is_directory_read(segments[root:]))
    else:  # PATCH and DELETE on the user itself; POST and PUT have nothing to reach there
        allowed = params["method"] in ("PATCH", "DELETE") and root > 0 and len(segments) == root
    if not allowed:
        raise FunctionError("ValidationError", f"path: {_ALLOWED}", field="path")
    if params["method"] == "DELETE" and [s.lower() for s in segments] == ["me"]:  # as users.delete refuses
        raise FunctionError("ValidationError", "path: a member cannot delete themself through /me.", field="path")
    _check_expand(params.get("query") or {})
    return pass_through(call, params, joined(segments))


# -- directory: app roles, transitive membership, changes -----------------------------------------------

APP_ROLES_READ = ("User.Read", "User.ReadBasic.All", "User.Read.All", "Directory.Read.All",
                  "AppRoleAssignment.ReadWrite.All")
APP_APP_ROLES_READ = ("User.Read.All", "Directory.Read.All", "AppRoleAssignment.ReadWrite.All")
GROUP_IDS = {"type": "array", "items": {"type": "string", "pattern": r"^[0-9a-fA-F-]{36}$"}, "minItems": 1,
             "maxItems": 500, "uniqueItems": True, "description": "Group object ids (Graph takes 20 per call; more "
                                                                  "are asked 20 at a time)."}


@function(
    "users.app_role_assignments",
    description="The app roles assigned to a user directly (appRoleId, resourceId, resourceDisplayName…); roles "
                "given through a group are the group's.",
    params=schema({"user_id": USER_ID, "select": SELECT, **PAGING}, ["user_id"]),
    delegated=APP_ROLES_READ,
    application=APP_APP_ROLES_READ,
    example={"user_id": "me", "select": ["appRoleId", "resourceDisplayName"]},
)
def app_role_assignments(call: Call, params: dict[str, Any]) -> Any:
    return collection(call, call.user_path(params["user_id"]) + "/appRoleAssignments", params, select(params))


@function(
    "users.transitive_member_of",
    description="The groups and directory roles a user is a member of, directly or through nested groups.",
    params=schema({
        "user_id": USER_ID,
        "kind": {"type": "string", "enum": ["group", "directoryRole"], "description": "Only this kind."},
        "select": SELECT,
        **PAGING,
    }, ["user_id"]),
    delegated=MEMBER_OF,
    application=APP_MEMBER_OF,
    example={"user_id": "me", "kind": "group", "select": ["id", "displayName"]},
)
def transitive_member_of(call: Call, params: dict[str, Any]) -> Any:
    path = call.user_path(params["user_id"]) + "/transitiveMemberOf"
    return _of_kind(collection(call, path, params, select(params)), params)


@function(
    "users.check_member_groups",
    description="Which of the given groups a user is a member of, directly or through nested groups.",
    params=schema({"user_id": USER_ID, "group_ids": GROUP_IDS}, ["user_id", "group_ids"]),
    delegated=MEMBER_OF,
    application=APP_MEMBER_OF,
    example={"user_id": "me", "group_ids": ["f448435d-3ca7-4073-8152-a1fd73c0fd09",
                                            "bd7c6263-4dd5-4ae8-8c96-556e1c0bece6"]},
)
def check_member_groups(call: Call, params: dict[str, Any]) -> Any:
    path = call.user_path(params["user_id"]) + "/checkMemberGroups"
    ids = [g.lower() for g in params["group_ids"]]
    held: list[str] = []
    for start in range(0, len(ids), 20):
        body = call.client.request("POST", path, json={"groupIds": ids[start:start + 20]}, idempotent=True).body
        held += [str(g).lower() for g in (body or {}).get("value", [])]
    return {"value": held, "count": len(held)}


DELTA_PATH = "/users/delta"


def _delta_link(call: Call, link: str) -> str:
    # A link is Graph's nextLink or deltaLink of this very query; anything else could send the token elsewhere.
    want, got = urlsplit(call.client.base + DELTA_PATH), urlsplit(link)
    if (got.scheme, got.netloc) != (want.scheme, want.netloc) or unquote(got.path) != unquote(want.path):
        raise FunctionError("ValidationError", "link is not a next_link or delta_link users.delta returned.",
                            field="link")
    return link


@function(
    "users.delta",
    description="Users changed in the directory: without link, every user and a delta_link; with a delta_link, "
                "those changed since (deleted ones carry @removed); all pages, or one page with next_link.",
    params=schema({
        "select": SELECT,
        "link": {"type": "string", "maxLength": 4000,
                 "description": "A next_link or delta_link from a previous call: where to continue."},
        "all_pages": {"type": "boolean", "default": True, "description": "Follow next links to the delta_link."},
        "limit": {"type": "integer", "minimum": 1, "maximum": 100000,
                  "description": "Stop after this many users (then next_link says where to continue)."},
    }),
    delegated=READ_ALL,
    application=APP_READ,
    example={"select": ["displayName", "mail", "accountEnabled"]},
)
def delta(call: Call, params: dict[str, Any]) -> Any:
    url = _delta_link(call, params["link"]) if params.get("link") else DELTA_PATH
    query: dict[str, Any] | None = None if params.get("link") else select(params) or None
    users: list[Any] = []
    limit = params.get("limit")
    while True:
        body = call.client.request("GET", url, params=query).body or {}
        query = None
        users += [entity(u) for u in body.get("value", [])]
        next_link = body.get("@odata.nextLink")
        if not next_link:
            return {"value": users, "count": len(users), "delta_link": body.get("@odata.deltaLink")}
        if not params.get("all_pages", True) or (limit is not None and len(users) >= limit):
            return {"value": users, "count": len(users), "next_link": next_link}
        url = _delta_link(call, next_link)
