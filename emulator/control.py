"""The emulator's own control API under ``/_emulator``: reset, settings, faults, forced grant
failures, the directory (users' lifecycle, groups, app roles and their assignments, directory roles),
app certificates, minted tokens, counters, the authorize log and health. JSON in, JSON out.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from emulator import directory
from emulator.app import Fault
from emulator.identity.errors import AADError
from emulator.identity.model import (
    CONSUMERS_TENANT,
    RefreshGrant,
    app_certificates,
    configured_delegated,
    find_user,
    new_secret,
    parse_scopes,
    register_certificate,
    remove_certificate,
    store,
)
from emulator.routing import Request, Response, json_response, route
from emulator.seed import stable_id

if TYPE_CHECKING:
    from emulator.app import Emulator


class BadRequest(Exception):
    pass


def _problem(status: int, message: str) -> Response:
    return json_response({"error": "bad_request" if status == 400 else "not_found", "message": message}, status)


def _body(req: Request) -> dict[str, Any]:
    try:
        data = req.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise BadRequest(f"The body is not JSON: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise BadRequest("The body must be a JSON object.")
    return data


class NotFound(Exception):
    pass


def _handles_bad_requests(fn: Any) -> Any:
    def wrapper(emu: Emulator, req: Request) -> Response:
        try:
            return fn(emu, req)
        except BadRequest as exc:
            return _problem(400, str(exc))
        except NotFound as exc:
            return _problem(404, str(exc))

    wrapper.__name__ = fn.__name__
    wrapper.__doc__ = fn.__doc__
    return wrapper


# -- lifecycle ---------------------------------------------------------------------------------


@route("GET", "/_emulator/health")
def health(emu: Emulator, req: Request) -> Response:
    return json_response({"status": "ok", "base_url": emu.base_url, "now": emu.now(),
                          "tenants": [t["id"] for t in emu.state["tenants"]]})


@route("POST", "/_emulator/reset")
@_handles_bad_requests
def reset(emu: Emulator, req: Request) -> Response:
    """Back to the seed; a JSON body replaces the seed (same shape as ``--seed``)."""
    seed = _body(req) or None
    if seed is not None and not (isinstance(seed.get("tenants"), list) and isinstance(seed.get("apps"), list)):
        raise BadRequest("A seed needs 'tenants' and 'apps' lists.")
    emu.reset(seed)
    return json_response({"status": "reset", "tenants": [t["id"] for t in emu.state["tenants"]],
                          "apps": [a["client_id"] for a in emu.state["apps"]]})


def _settings(emu: Emulator) -> dict[str, Any]:
    return {"auto_approve": emu.auto_approve, "strict_rotation": emu.strict_rotation,
            "clock_offset_seconds": emu.clock_offset, "id_token_tamper": emu.id_token_tamper,
            "groups_claim_limit": emu.groups_claim_limit}


@route("GET", "/_emulator/settings")
def get_settings(emu: Emulator, req: Request) -> Response:
    return json_response(_settings(emu))


@route("POST", "/_emulator/settings")
@_handles_bad_requests
def set_settings(emu: Emulator, req: Request) -> Response:
    data = _body(req)
    unknown = set(data) - {"auto_approve", "strict_rotation", "clock_offset_seconds", "id_token_tamper",
                           "groups_claim_limit"}
    if unknown:
        raise BadRequest(f"Unknown settings: {', '.join(sorted(unknown))}.")
    with emu.lock:
        for key in ("auto_approve", "strict_rotation"):
            if key in data:
                if not isinstance(data[key], bool):
                    raise BadRequest(f"'{key}' must be true or false.")
                setattr(emu, key, data[key])
        if "clock_offset_seconds" in data:
            value = data["clock_offset_seconds"]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise BadRequest("'clock_offset_seconds' must be a number.")
            emu.clock_offset = float(value)
        if "groups_claim_limit" in data:
            limit = data["groups_claim_limit"]
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
                raise BadRequest("'groups_claim_limit' must be a non-negative integer (groups in an id_token).")
            emu.groups_claim_limit = limit
        if "id_token_tamper" in data:
            tamper = data["id_token_tamper"]
            if not isinstance(tamper, dict) or set(tamper) - {"nonce", "aud", "azp", "iss", "tid", "exp", "rogue_key"}:
                raise BadRequest("'id_token_tamper' takes nonce, aud, azp, iss, tid, exp and rogue_key.")
            emu.id_token_tamper = tamper
        return json_response(_settings(emu))


# -- faults ------------------------------------------------------------------------------------


def _fault_json(f: Fault) -> dict[str, Any]:
    return asdict(f)


@route("POST", "/_emulator/faults")
@_handles_bad_requests
def add_fault(emu: Emulator, req: Request) -> Response:
    """``{"kind": "status"|"latency"|"reset"|"slow_response", "path": glob, "method", "status", "retry_after",
    "latency_ms", "rate" | "count"}``; without rate or count the fault fires once."""
    data = _body(req)
    kind = data.get("kind")
    if kind not in ("status", "latency", "reset", "slow_response"):
        raise BadRequest("'kind' must be one of status, latency, reset, slow_response.")
    allowed = {"kind", "path", "method", "status", "retry_after", "latency_ms", "rate", "count"}
    if set(data) - allowed:
        raise BadRequest(f"Unknown fields: {', '.join(sorted(set(data) - allowed))}.")
    if "rate" in data and "count" in data:
        raise BadRequest("Give either 'rate' or 'count', not both.")
    rate = data.get("rate")
    if rate is not None and (isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 < rate <= 1):
        raise BadRequest("'rate' must be a number in (0, 1].")
    count = data.get("count", None if rate is not None else 1)
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise BadRequest("'count' must be a positive integer.")
    status = data.get("status", 503)
    if kind == "status" and (not isinstance(status, int) or not 400 <= status <= 599):
        raise BadRequest("'status' must be an HTTP error status (400-599).")
    retry_after = data.get("retry_after")
    if retry_after is not None and (not isinstance(retry_after, int) or retry_after < 0):
        raise BadRequest("'retry_after' must be a non-negative integer (seconds).")
    latency = data.get("latency_ms", 0)
    if kind in ("latency", "slow_response") and (not isinstance(latency, int) or not 0 < latency <= 120_000):
        raise BadRequest("'latency_ms' must be a positive integer up to 120000.")
    path = data.get("path", "*")
    method = str(data.get("method", "*")).upper()
    if not isinstance(path, str) or not path:
        raise BadRequest("'path' must be a glob such as /v1.0/users*.")
    if path.startswith("/_emulator"):
        raise BadRequest("Faults cannot target the control API.")
    fault = Fault(kind=kind, path=path, method=method, status=status, retry_after=retry_after,
                  latency_ms=latency, rate=rate, count=None if rate is not None else count)
    with emu.lock:
        emu.faults.append(fault)
    return json_response(_fault_json(fault), 201)


@route("GET", "/_emulator/faults")
def list_faults(emu: Emulator, req: Request) -> Response:
    with emu.lock:
        return json_response({"faults": [_fault_json(f) for f in emu.faults]})


@route("DELETE", "/_emulator/faults")
def clear_faults(emu: Emulator, req: Request) -> Response:
    with emu.lock:
        removed = len(emu.faults)
        emu.faults.clear()
    return json_response({"removed": removed})


@route("DELETE", "/_emulator/faults/{id}")
def delete_fault(emu: Emulator, req: Request) -> Response:
    with emu.lock:
        for f in emu.faults:
            if f.id == req.params["id"]:
                emu.faults.remove(f)
                return json_response({"removed": 1})
    return _problem(404, f"No fault with id {req.params['id']}.")


# -- users: forced refresh-token failures and consent ------------------------------------------


def _path_user(emu: Emulator, req: Request) -> tuple[dict[str, Any], dict[str, Any]]:
    """(tenant, user) named by the path's {user} (UPN or id), or a 404."""
    found = find_user(emu, req.params["user"])
    if found is None:
        raise NotFound(f"No user {req.params['user']}.")
    return found


FORCED_CODES = (50173, 700082, 70008, 65001, 50076, 50079, 53003)


@route("POST", "/_emulator/users/{user}/invalid-grant")
@_handles_bad_requests
def force_invalid_grant(emu: Emulator, req: Request) -> Response:
    """Refresh tokens this user got so far fail with ``code`` (50173 revoked, 700082 / 70008
    expired, 65001 consent withdrawn, 50076 MFA required, 50079 MFA enrolment required, 53003
    blocked by Conditional Access); a new sign-in works again, as after a real revocation."""
    data = _body(req)
    code = data.get("code", 50173)
    if code not in FORCED_CODES:
        raise BadRequest(f"'code' must be one of {', '.join(map(str, FORCED_CODES))}.")
    _, user = _path_user(emu, req)
    with emu.lock:
        store(emu).invalid_grant[user["id"]] = {"code": code, "since": emu.now()}
    return json_response({"user": user["id"], "code": code})


@route("DELETE", "/_emulator/users/{user}/invalid-grant")
@_handles_bad_requests
def clear_invalid_grant(emu: Emulator, req: Request) -> Response:
    _, user = _path_user(emu, req)
    with emu.lock:
        removed = store(emu).invalid_grant.pop(user["id"], None) is not None
    return json_response({"user": user["id"], "removed": removed})


CRITICAL_EVENTS = ("sessions_revoked", "location_changed")


@route("POST", "/_emulator/users/{user}/critical-event")
@_handles_bad_requests
def critical_event(emu: Emulator, req: Request) -> Response:
    """A Continuous Access Evaluation event for this user. Graph then answers CAE-capable tokens
    (the client declared capability cp1) issued until now with a 401 claims challenge.

    ``sessions_revoked`` (as revokeSignInSessions): refresh tokens fail with 50173 too, and the
    user's signInSessionsValidFromDateTime moves. ``location_changed`` (a network policy): a
    refresh that carries the challenge's claims gets a token Graph accepts.
    """
    data = _body(req)
    kind = data.get("kind", "sessions_revoked")
    if kind not in CRITICAL_EVENTS:
        raise BadRequest(f"'kind' must be one of {', '.join(CRITICAL_EVENTS)}.")
    tenant, user = _path_user(emu, req)
    with emu.lock:
        now = emu.now()
        # Tokens valid from the event's second on are caught too: the challenge asks for nbf ≥ the next
        # second, which a refresh carrying the challenge's claims is issued with.
        user["_cae_since"] = int(now) + 1
        if kind == "sessions_revoked":
            store(emu).invalid_grant[user["id"]] = {"code": 50173, "since": now}
            user["signInSessionsValidFromDateTime"] = datetime.fromtimestamp(now, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            directory.touch(tenant, user)
    return json_response({"user": user["id"], "kind": kind, "nbf": user["_cae_since"]})


@route("DELETE", "/_emulator/users/{user}/consent")
@_handles_bad_requests
def withdraw_consent(emu: Emulator, req: Request) -> Response:
    """Withdraw the consent this user gave (all apps); tenant-wide admin consent stays."""
    tenant, user = _path_user(emu, req)
    withdrawn: dict[str, list[str]] = {}
    with emu.lock:
        for app in emu.state["apps"]:
            mine = ((app.get("delegated_user_consent") or {}).get(tenant["id"]) or {}).pop(user["id"], None)
            if mine:
                withdrawn[app["client_id"]] = mine
    return json_response({"user": user["id"], "withdrawn": withdrawn})


# -- the directory: users' lifecycle, groups, app roles, directory roles -----------------------


def _any_user(emu: Emulator, key: str) -> tuple[dict[str, Any], dict[str, Any], bool]:
    """(tenant, user, deleted) for a user by id or UPN, active or in deleted items; else a 404."""
    found = find_user(emu, key)
    if found is not None:
        return found[0], found[1], False
    for tenant in emu.state["tenants"]:
        user = directory.deleted_user(tenant, key)
        if user is not None:
            return tenant, user, True
    raise NotFound(f"No user {key}.")


def _user_json(tenant: dict[str, Any], user: dict[str, Any]) -> dict[str, Any]:
    return {"id": user["id"], "tenant_id": tenant["id"], "userPrincipalName": user["userPrincipalName"],
            "displayName": user.get("displayName"), "accountEnabled": user.get("accountEnabled", True),
            "deletedDateTime": user.get("deletedDateTime")}


def _set_enabled(emu: Emulator, req: Request, enabled: bool) -> Response:
    with emu.lock:
        tenant, user = _path_user(emu, req)
        if user.get("accountEnabled", True) != enabled:
            user["accountEnabled"] = enabled
            directory.touch(tenant, user)
        return json_response(_user_json(tenant, user))


@route("POST", "/_emulator/users/{user}/disable")
@_handles_bad_requests
def disable_user(emu: Emulator, req: Request) -> Response:
    """Block sign-in (accountEnabled false): AADSTS50057 at authorize and token, Graph refuses the
    user's tokens, the users delta reports the change."""
    return _set_enabled(emu, req, False)


@route("POST", "/_emulator/users/{user}/enable")
@_handles_bad_requests
def enable_user(emu: Emulator, req: Request) -> Response:
    return _set_enabled(emu, req, True)


PATCHABLE = ("displayName", "givenName", "surname", "mail", "jobTitle", "department", "officeLocation")


@route("PATCH", "/_emulator/users/{user}")
@_handles_bad_requests
def patch_user(emu: Emulator, req: Request) -> Response:
    """Change any of displayName, givenName, surname, mail, jobTitle, department, officeLocation."""
    data = _body(req)
    unknown = set(data) - set(PATCHABLE)
    if unknown:
        raise BadRequest(f"Unknown fields: {', '.join(sorted(unknown))}; a user takes {', '.join(PATCHABLE)}.")
    if not all(v is None or isinstance(v, str) for v in data.values()):
        raise BadRequest("Each value must be a string or null.")
    with emu.lock:
        tenant, user = _path_user(emu, req)
        user.update(data)
        directory.touch(tenant, user)
        return json_response({**_user_json(tenant, user), **{k: user.get(k) for k in PATCHABLE}})


@route("DELETE", "/_emulator/users/{user}")
@_handles_bad_requests
def delete_user(emu: Emulator, req: Request) -> Response:
    """Soft delete (restorable, delta says ``changed``); ``?permanent=true`` purges it (``deleted``)."""
    permanent = req.query.get("permanent", "false").lower() == "true"
    with emu.lock:
        tenant, user, deleted = _any_user(emu, req.params["user"])
        if permanent:
            directory.purge_user(emu, tenant, user)
        elif deleted:
            raise BadRequest(f"User {req.params['user']} is already deleted; add ?permanent=true to purge it.")
        else:
            directory.delete_user(emu, tenant, user)
        return json_response({**_user_json(tenant, user), "permanent": permanent})


@route("POST", "/_emulator/users/{user}/restore")
@_handles_bad_requests
def restore_user(emu: Emulator, req: Request) -> Response:
    with emu.lock:
        tenant, user, deleted = _any_user(emu, req.params["user"])
        if not deleted:
            raise BadRequest(f"User {req.params['user']} is not deleted.")
        directory.restore_user(tenant, user)
        return json_response(_user_json(tenant, user))


def _tenant_for(emu: Emulator, data: dict[str, Any]) -> dict[str, Any]:
    """The tenant a body names (id or domain), else the seed's first."""
    key = data.get("tenant")
    tenant = emu.tenant(str(key)) if key else emu.state["tenants"][0]
    if tenant is None:
        raise BadRequest(f"No tenant {key}.")
    return tenant


@route("POST", "/_emulator/users/bulk")
@_handles_bad_requests
def bulk_users(emu: Emulator, req: Request) -> Response:
    """``{"count": n, "prefix": "member", "tenant"?}`` → n enabled members ``{prefix}{i}@{domain}``
    created at once (for benchmarks), each a change for the users delta."""
    data = _body(req)
    count, prefix = data.get("count"), data.get("prefix", "member")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100_000:
        raise BadRequest("'count' must be an integer from 1 to 100000.")
    if not isinstance(prefix, str) or not prefix.isalnum():
        raise BadRequest("'prefix' must be letters and digits.")
    with emu.lock:
        tenant = _tenant_for(emu, data)
        domain = tenant["domains"][0]
        taken = {u["userPrincipalName"].lower() for u in [*tenant["users"], *tenant["deletedUsers"]]}
        ids: list[str] = []
        i = 0
        while len(ids) < count:
            i += 1
            nick = f"{prefix.lower()}{i:05d}"
            upn = f"{nick}@{domain}"
            if upn in taken:
                continue
            user = directory.new_user(emu, tenant, {
                "displayName": f"{prefix.capitalize()} {i}", "givenName": prefix.capitalize(), "surname": str(i),
                "userPrincipalName": upn, "mail": upn, "mailNickname": nick, "jobTitle": "Member"},
                user_id=stable_id(tenant["id"], "user", nick))
            ids.append(user["id"])
    return json_response({"tenant_id": tenant["id"], "ids": ids}, 201)


def _path_group(emu: Emulator, key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    for tenant in emu.state["tenants"]:
        found = directory.group(tenant, key)
        if found is not None:
            return tenant, found
    raise NotFound(f"No group {key}.")


def _group_json(tenant: dict[str, Any], group: dict[str, Any]) -> dict[str, Any]:
    return {"id": group["id"], "tenant_id": tenant["id"], "displayName": group["displayName"],
            "securityEnabled": group.get("securityEnabled", True), "members": list(group["members"])}


@route("POST", "/_emulator/groups")
@_handles_bad_requests
def create_group(emu: Emulator, req: Request) -> Response:
    """``{"displayName", "id"?, "securityEnabled"?: true, "description"?, "tenant"?}`` → the group."""
    data = _body(req)
    name, gid = data.get("displayName"), data.get("id")
    if not isinstance(name, str) or not name.strip():
        raise BadRequest("'displayName' is required.")
    if gid is not None and (not isinstance(gid, str) or not _is_guid(gid)):
        raise BadRequest("'id' must be a GUID.")
    security = data.get("securityEnabled", True)
    if not isinstance(security, bool):
        raise BadRequest("'securityEnabled' must be true or false.")
    with emu.lock:
        tenant = _tenant_for(emu, data)
        if gid is not None and directory.group(tenant, gid) is not None:
            raise BadRequest(f"A group with id {gid} already exists.")
        group = directory.new_group(tenant, name.strip(), group_id=gid.lower() if gid else None,
                                    security_enabled=security, description=data.get("description"),
                                    now=directory.iso_now(emu))
        return json_response(_group_json(tenant, group), 201)


def _is_guid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


@route("DELETE", "/_emulator/groups/{group}")
@_handles_bad_requests
def delete_group(emu: Emulator, req: Request) -> Response:
    with emu.lock:
        tenant, group = _path_group(emu, req.params["group"])
        directory.delete_group(tenant, group["id"])
    return json_response({"removed": 1})


@route("POST", "/_emulator/groups/{group}/members")
@_handles_bad_requests
def add_group_member(emu: Emulator, req: Request) -> Response:
    """``{"id": user id or UPN, or a group id}``: a group as member nests it."""
    key = _body(req).get("id")
    if not isinstance(key, str) or not key:
        raise BadRequest("'id' must name a user (id or UPN) or a group.")
    with emu.lock:
        tenant, group = _path_group(emu, req.params["group"])
        user = emu.user(tenant, key)
        member = user["id"] if user else None
        if member is None:
            nested = directory.group(tenant, key)
            if nested is None:
                raise NotFound(f"No user or group {key} in the group's tenant.")
            if directory.would_cycle(tenant, group["id"], nested["id"]):
                raise BadRequest("That would make the group a member of itself.")
            member = nested["id"]
        if member not in group["members"]:
            group["members"].append(member)
        return json_response(_group_json(tenant, group))


@route("DELETE", "/_emulator/groups/{group}/members/{member}")
@_handles_bad_requests
def remove_group_member(emu: Emulator, req: Request) -> Response:
    with emu.lock:
        tenant, group = _path_group(emu, req.params["group"])
        user = emu.user(tenant, req.params["member"])
        member = user["id"] if user else req.params["member"].lower()
        if member not in group["members"]:
            raise NotFound(f"{req.params['member']} is not a member of {group['displayName']}.")
        group["members"].remove(member)
        return json_response(_group_json(tenant, group))


def _app_or_404(emu: Emulator, client_id: str) -> dict[str, Any]:
    app = emu.app(client_id)
    if app is None:
        raise NotFound(f"No app {client_id}.")
    return app


@route("POST", "/_emulator/apps/{client_id}/app-roles")
@_handles_bad_requests
def define_app_role(emu: Emulator, req: Request) -> Response:
    """``{"value": "Editor", "displayName"?, "description"?, "allowedMemberTypes"?}`` → the role, with its id."""
    data = _body(req)
    value = data.get("value")
    if not isinstance(value, str) or not value or " " in value:
        raise BadRequest("'value' must be a non-empty string without spaces (the roles claim carries it).")
    types = data.get("allowedMemberTypes", ["User"])
    if not isinstance(types, list) or not types or set(types) - set(directory.ALLOWED_MEMBER_TYPES):
        raise BadRequest("'allowedMemberTypes' takes User and/or Application.")
    with emu.lock:
        app = _app_or_404(emu, req.params["client_id"])
        role = directory.define_app_role(app, value, data.get("displayName"), data.get("description"), types)
    return json_response(role, 201)


def _assignment_target(emu: Emulator, req: Request, kind: str) -> tuple[dict[str, Any], str, str]:
    """(tenant, principal id, principalType) for the path's user or group."""
    if kind == "User":
        tenant, user = _path_user(emu, req)
        return tenant, user["id"], "User"
    tenant, group = _path_group(emu, req.params["group"])
    return tenant, group["id"], "Group"


def _assign(emu: Emulator, req: Request, kind: str) -> Response:
    data = _body(req)
    with emu.lock:
        tenant, principal, principal_type = _assignment_target(emu, req, kind)
        app = _app_or_404(emu, str(data.get("clientId") or emu.state["apps"][0]["client_id"]))
        role = directory.role_by_value(app, str(data.get("value", "")))
        if role is None:
            raise BadRequest(f"App {app['client_id']} has no role '{data.get('value')}'; define it with "
                             f"POST /_emulator/apps/{app['client_id']}/app-roles.")
        assignment = directory.assign_app_role(emu, tenant, app, role, principal, principal_type)
        return json_response({k: v for k, v in assignment.items() if not k.startswith("_")}, 201)


def _unassign(emu: Emulator, req: Request, kind: str) -> Response:
    with emu.lock:
        tenant, principal, _ = _assignment_target(emu, req, kind)
        app = _app_or_404(emu, req.query.get("clientId") or emu.state["apps"][0]["client_id"])
        role = directory.role_by_value(app, req.params["value"])
        if role is None or not directory.unassign_app_role(tenant, app, role, principal):
            raise NotFound(f"No assignment of '{req.params['value']}' to {principal}.")
    return json_response({"removed": 1})


@route("POST", "/_emulator/users/{user}/app-role-assignments")
@_handles_bad_requests
def assign_user_app_role(emu: Emulator, req: Request) -> Response:
    """``{"clientId"?, "value": "Editor"}`` (clientId defaults to the seeded app)."""
    return _assign(emu, req, "User")


@route("DELETE", "/_emulator/users/{user}/app-role-assignments/{value}")
@_handles_bad_requests
def unassign_user_app_role(emu: Emulator, req: Request) -> Response:
    """``?clientId=`` names the app (default: the seeded app)."""
    return _unassign(emu, req, "User")


@route("POST", "/_emulator/groups/{group}/app-role-assignments")
@_handles_bad_requests
def assign_group_app_role(emu: Emulator, req: Request) -> Response:
    return _assign(emu, req, "Group")


@route("DELETE", "/_emulator/groups/{group}/app-role-assignments/{value}")
@_handles_bad_requests
def unassign_group_app_role(emu: Emulator, req: Request) -> Response:
    return _unassign(emu, req, "Group")


@route("POST", "/_emulator/users/{user}/directory-roles")
@_handles_bad_requests
def add_directory_role(emu: Emulator, req: Request) -> Response:
    """``{"roleTemplateId": ...}``: the user holds that directory role (``wids``, memberOf, admin rights)."""
    template = _body(req).get("roleTemplateId")
    with emu.lock:
        tenant, user = _path_user(emu, req)
        if not any(r["roleTemplateId"] == template for r in tenant["directoryRoles"]):
            raise BadRequest(f"No directory role with template {template} in the user's tenant.")
        held = [a for a in tenant["roleAssignments"] if a["principalId"] == user["id"]]
        if not any(a["roleDefinitionId"] == template for a in held):
            tenant["roleAssignments"].append({
                "id": stable_id(tenant["id"], "assignment", user["id"], str(template)),
                "principalId": user["id"], "roleDefinitionId": template, "directoryScopeId": "/"})
    return json_response({"user": user["id"], "roleTemplateId": template}, 201)


@route("DELETE", "/_emulator/users/{user}/directory-roles/{template}")
@_handles_bad_requests
def remove_directory_role(emu: Emulator, req: Request) -> Response:
    with emu.lock:
        tenant, user = _path_user(emu, req)
        keep = [a for a in tenant["roleAssignments"]
                if not (a["principalId"] == user["id"] and a["roleDefinitionId"] == req.params["template"])]
        if len(keep) == len(tenant["roleAssignments"]):
            raise NotFound(f"{req.params['user']} does not hold {req.params['template']}.")
        tenant["roleAssignments"] = keep
    return json_response({"removed": 1})


# -- app registrations: certificates ------------------------------------------------------------


@route("POST", "/_emulator/apps/{client_id}/certificates")
@_handles_bad_requests
def upload_certificate(emu: Emulator, req: Request) -> Response:
    """``{"pem": "-----BEGIN CERTIFICATE-----..."}``: what Certificates & secrets → Certificates → Upload
    does. Answers the certificate's thumbprints and validity, as the portal lists them."""
    pem = _body(req).get("pem")
    if not isinstance(pem, str) or "BEGIN CERTIFICATE" not in pem:
        raise BadRequest("'pem' must be a PEM certificate (-----BEGIN CERTIFICATE-----).")
    with emu.lock:
        app = emu.app(req.params["client_id"])
        if app is None:
            return _problem(404, f"No app {req.params['client_id']}.")
        try:
            entry = register_certificate(app, pem)
        except ValueError as exc:
            raise BadRequest(f"'pem' is not a readable certificate: {exc}") from None
    return json_response({k: v for k, v in entry.items() if k != "pem"}, 201)


@route("GET", "/_emulator/apps/{client_id}/certificates")
def list_certificates(emu: Emulator, req: Request) -> Response:
    with emu.lock:
        app = emu.app(req.params["client_id"])
        if app is None:
            return _problem(404, f"No app {req.params['client_id']}.")
        certs = app_certificates(app)
    return json_response({"certificates": [{k: v for k, v in c.items() if k != "pem"} for c in certs]})


@route("DELETE", "/_emulator/apps/{client_id}/certificates/{thumbprint}")
def delete_certificate(emu: Emulator, req: Request) -> Response:
    """Remove a certificate by its SHA-1 or SHA-256 thumbprint (hex)."""
    with emu.lock:
        app = emu.app(req.params["client_id"])
        if app is None:
            return _problem(404, f"No app {req.params['client_id']}.")
        if not remove_certificate(app, req.params["thumbprint"]):
            return _problem(404, f"No certificate {req.params['thumbprint']}.")
    return json_response({"removed": 1})


# -- tokens for scripts ------------------------------------------------------------------------


@route("POST", "/_emulator/tokens")
@_handles_bad_requests
def mint_token(emu: Emulator, req: Request) -> Response:
    """``{"user": upn|id, "scopes": [...]}`` for a delegated token, or ``{"tenant": id|domain,
    "roles": [...]}`` for an app-only one; ``client_id`` defaults to the first app."""
    data = _body(req)
    apps = emu.state["apps"]
    client_id = data.get("client_id") or apps[0]["client_id"]
    app = emu.app(client_id)
    if app is None:
        raise BadRequest(f"No app {client_id}.")
    lifetime = data.get("lifetime", 3599)
    if not isinstance(lifetime, int) or lifetime < 1:
        raise BadRequest("'lifetime' must be a positive integer (seconds).")
    if data.get("user"):
        found = find_user(emu, str(data["user"]))
        if found is None:
            raise BadRequest(f"No user {data['user']}.")
        tenant, user = found
        raw = data.get("scopes")
        if raw is None:
            scopes = configured_delegated(app)
        else:
            if isinstance(raw, str):
                raw = raw.split()
            try:
                scopes = parse_scopes(app, " ".join(raw)).graph
            except AADError as err:
                raise BadRequest(err.describe_short()) from None
        token, expires_in = emu.issue_access_token(tenant["id"], client_id, user=user, scopes=scopes,
                                                   lifetime=lifetime)
        return json_response({"token_type": "Bearer", "access_token": token, "expires_in": expires_in,
                              "tenant_id": tenant["id"], "user_id": user["id"], "scope": " ".join(scopes)})
    home = emu.tenant(str(data.get("tenant") or app["home_tenant"]))
    if home is None or home["id"] == CONSUMERS_TENANT:
        raise BadRequest(f"No tenant {data.get('tenant')}.")
    roles = data.get("roles")
    if roles is None:
        roles = list((app.get("app_roles") or {}).get(home["id"], []))
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise BadRequest("'roles' must be a list of strings.")
    token, expires_in = emu.issue_access_token(home["id"], client_id, roles=roles, lifetime=lifetime)
    return json_response({"token_type": "Bearer", "access_token": token, "expires_in": expires_in,
                          "tenant_id": home["id"], "roles": roles})


@route("POST", "/_emulator/refresh-tokens")
@_handles_bad_requests
def mint_refresh_tokens(emu: Emulator, req: Request) -> Response:
    """``{"user": upn|id, "scopes": [...], "count": n}`` → n refresh tokens for that user, as if they
    had signed in n times (for load tests that need many live grants without n browser flows)."""
    data = _body(req)
    found = find_user(emu, str(data.get("user", "")))
    if found is None:
        raise BadRequest(f"No user {data.get('user')}.")
    tenant, user = found
    app = emu.app(data.get("client_id") or emu.state["apps"][0]["client_id"])
    if app is None:
        raise BadRequest("No such app.")
    count = data.get("count", 1)
    if not isinstance(count, int) or not 1 <= count <= 100_000:
        raise BadRequest("'count' must be an integer from 1 to 100000.")
    raw = data.get("scopes") or configured_delegated(app)
    try:
        scopes = parse_scopes(app, " ".join(raw if isinstance(raw, list) else str(raw).split())).graph
    except AADError as err:
        raise BadRequest(err.describe_short()) from None
    now = emu.now()
    tokens = [new_secret("1.AQ") for _ in range(count)]
    with emu.lock:
        grants = store(emu).refresh_tokens
        for rt in tokens:
            grants[rt] = RefreshGrant(app["client_id"], tenant["id"], user["id"], list(scopes),
                                      ["openid", "profile", "offline_access"], now, now)
    return json_response({"refresh_tokens": tokens, "scope": " ".join(scopes), "tenant_id": tenant["id"],
                          "user_id": user["id"]})


# -- observation -------------------------------------------------------------------------------


@route("GET", "/_emulator/counters")
def counters(emu: Emulator, req: Request) -> Response:
    with emu.lock:
        return json_response({"requests": dict(emu.requests), "grants": dict(emu.grants)})


@route("DELETE", "/_emulator/counters")
def clear_counters(emu: Emulator, req: Request) -> Response:
    with emu.lock:
        emu.requests.clear()
        emu.grants.clear()
    return json_response({"status": "cleared"})


@route("GET", "/_emulator/authorize-log")
def authorize_log(emu: Emulator, req: Request) -> Response:
    with emu.lock:
        return json_response({"requests": list(store(emu).authorize_log)})


@route("DELETE", "/_emulator/authorize-log")
def clear_authorize_log(emu: Emulator, req: Request) -> Response:
    with emu.lock:
        store(emu).authorize_log.clear()
    return json_response({"status": "cleared"})
