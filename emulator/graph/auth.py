"""Who is calling Graph, and may they: token validation and Microsoft's per-call permission rules.

A delegated token carries ``scp`` (space-separated scopes); an app-only token carries ``roles``.
Each operation names the permissions Microsoft's reference lists for it, split by flavour. For
directory writes on behalf of a user, Graph also requires the signed-in user to hold an admin
role (the effective permission is the intersection of the app's scope and the user's rights).
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from emulator.graph.api import GraphError
from emulator.seed import GLOBAL_ADMIN, PRIVILEGED_ROLE_ADMIN, USER_ADMIN
from emulator.tokens import InvalidToken

if TYPE_CHECKING:
    from emulator.app import Emulator
    from emulator.routing import Request


@dataclass(frozen=True)
class Permission:
    """The permissions any one of which allows an operation (Microsoft's per-call table)."""

    delegated: frozenset[str]
    application: frozenset[str]


def perm(delegated: str, application: str) -> Permission:
    return Permission(frozenset(delegated.split()), frozenset(application.split()))


# -- Microsoft's permission tables (least to most privileged) ---------------------------------

USER_SELF_READ = perm("User.Read User.ReadWrite User.ReadBasic.All User.Read.All User.ReadWrite.All "
                      "Directory.Read.All Directory.ReadWrite.All", "")
USER_SELF_WRITE = perm("User.ReadWrite User.ReadWrite.All Directory.ReadWrite.All", "")
USERS_READ = perm("User.ReadBasic.All User.Read.All User.ReadWrite.All Directory.Read.All Directory.ReadWrite.All",
                  "User.Read.All User.ReadWrite.All Directory.Read.All Directory.ReadWrite.All")
USERS_WRITE = perm("User.ReadWrite.All Directory.ReadWrite.All", "User.ReadWrite.All Directory.ReadWrite.All")
MEMBER_OF_READ = perm("User.Read.All User.ReadBasic.All GroupMember.Read.All Directory.Read.All "
                      "Directory.ReadWrite.All User.ReadWrite.All",
                      "User.Read.All GroupMember.Read.All Directory.Read.All Directory.ReadWrite.All "
                      "User.ReadWrite.All")
PHOTO_READ = perm("User.ReadBasic.All User.Read.All User.ReadWrite.All ProfilePhoto.Read.All Directory.Read.All",
                  "User.Read.All User.ReadWrite.All ProfilePhoto.Read.All Directory.Read.All")
ORGANIZATION_READ = perm("User.Read Organization.Read.All Directory.Read.All Organization.ReadWrite.All",
                         "Organization.Read.All Directory.Read.All Organization.ReadWrite.All")
ROLES_READ = perm("RoleManagement.Read.Directory RoleManagement.ReadWrite.Directory Directory.Read.All "
                  "Directory.ReadWrite.All RoleManagement.Read.All",
                  "RoleManagement.Read.Directory RoleManagement.ReadWrite.Directory Directory.Read.All "
                  "Directory.ReadWrite.All RoleManagement.Read.All")
ROLES_WRITE = perm("RoleManagement.ReadWrite.Directory", "RoleManagement.ReadWrite.Directory")
CAL_OWN_READ = perm("Calendars.ReadBasic Calendars.Read Calendars.ReadWrite", "")
CAL_OWN_WRITE = perm("Calendars.ReadWrite", "")
CAL_OTHER_READ = perm("Calendars.Read.Shared Calendars.ReadWrite.Shared",
                      "Calendars.ReadBasic.All Calendars.Read Calendars.ReadWrite")
CAL_OTHER_WRITE = perm("Calendars.ReadWrite.Shared", "Calendars.ReadWrite")
SCHEDULE_READ = perm("Calendars.ReadBasic Calendars.Read Calendars.ReadWrite Calendars.Read.Shared",
                     "Calendars.ReadBasic.All Calendars.Read Calendars.ReadWrite")
FIND_MEETING_TIMES = perm("Calendars.Read.Shared Calendars.ReadWrite.Shared", "Calendars.Read Calendars.ReadWrite")

# Directory roles (by template id) that let a signed-in user act on other users / role assignments.
USER_WRITE_ROLES = frozenset({GLOBAL_ADMIN, USER_ADMIN})
ROLE_WRITE_ROLES = frozenset({GLOBAL_ADMIN, PRIVILEGED_ROLE_ADMIN})

DIRECTORY_DENIED = ("Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
MAILBOX_DENIED = ("ErrorAccessDenied", "Access is denied. Check credentials and try again.")


@dataclass
class Caller:
    tenant: dict[str, Any]
    claims: dict[str, Any]
    user: dict[str, Any] | None  # the signed-in user for delegated tokens
    scopes: frozenset[str]
    roles: frozenset[str]

    @property
    def delegated(self) -> bool:
        return self.user is not None

    def allowed(self, permission: Permission) -> bool:
        granted = self.scopes if self.delegated else self.roles
        wanted = permission.delegated if self.delegated else permission.application
        return not granted.isdisjoint(wanted)

    def require(self, permission: Permission, denied: tuple[str, str] = DIRECTORY_DENIED) -> None:
        if not self.allowed(permission):
            raise GraphError(403, *denied)

    def is_self(self, user: dict[str, Any]) -> bool:
        return self.user is not None and self.user["id"] == user["id"]

    def directory_roles(self) -> set[str]:
        """Role template ids the signed-in user holds (empty for app tokens)."""
        if self.user is None:
            return set()
        return held_roles(self.tenant, self.user["id"])

    def require_admin(self, roles: frozenset[str]) -> None:
        """Delegated callers also need a directory role; app tokens act with their own rights."""
        if self.delegated and self.directory_roles().isdisjoint(roles):
            raise GraphError(403, *DIRECTORY_DENIED)


def held_roles(tenant: dict[str, Any], principal_id: str) -> set[str]:
    return {a["roleDefinitionId"] for a in tenant["roleAssignments"] if a["principalId"] == principal_id}


def _unauthorized(emu: Emulator, message: str) -> GraphError:
    # Graph's challenge names the authority and Graph's own app id so clients can re-acquire.
    challenge = (f'Bearer realm="", authorization_uri="{emu.base_url}/common/oauth2/authorize", '
                 f'client_id="{emu.GRAPH_APP_ID}"')
    return GraphError(401, "InvalidAuthenticationToken", message, {"WWW-Authenticate": challenge})


_CACHE_KEY = "graph_token_cache"
_CACHE_LIMIT = 4096


def _claims(emu: Emulator, token: str) -> dict[str, Any]:
    """Verified claims, cached per token: benchmarks reuse one token for thousands of calls and
    an RSA verification each time would dominate. Expiry is still checked on every use."""
    cache: dict[str, dict[str, Any]] = emu.runtime.setdefault(_CACHE_KEY, {})
    claims = cache.get(token)
    now = emu.now()
    if claims is None:
        if token.count(".") != 2:
            raise _unauthorized(emu, "IDX14100: JWT is not well formed, there are no dots (.).")
        try:
            claims = emu.signer.verify(token, now=now)
        except InvalidToken as exc:
            text = str(exc)
            if "expired" in text:
                raise _unauthorized(emu, "Lifetime validation failed, the token is expired.") from exc
            raise _unauthorized(emu, "Access token validation failure. Invalid signature.") from exc
        if len(cache) >= _CACHE_LIMIT:
            cache.clear()
        cache[token] = claims
    if now >= float(claims.get("exp", 0)):
        raise _unauthorized(emu, "Lifetime validation failed, the token is expired.")
    return claims


def authenticate(emu: Emulator, req: Request) -> Caller:
    token = req.bearer_token
    if not token:
        raise _unauthorized(emu, "Access token is empty.")
    claims = _claims(emu, token)
    if claims.get("aud") not in (emu.GRAPH_AUDIENCE, emu.GRAPH_APP_ID, f"{emu.GRAPH_AUDIENCE}/"):
        raise _unauthorized(emu, "Access token validation failure. Invalid audience.")
    tenant = emu.tenant(str(claims.get("tid", "")))
    if tenant is None:
        raise _unauthorized(emu, "Access token validation failure. Invalid issuer.")
    if claims.get("idtyp") == "app" or "scp" not in claims:
        return Caller(tenant, claims, None, frozenset(), frozenset(claims.get("roles") or ()))
    user = emu.user(tenant, str(claims.get("oid", "")))
    if user is None or not user.get("accountEnabled", True):
        # The account was deleted or disabled after the token was issued.
        raise _unauthorized(emu, "Access token validation failure. The user or administrator has not consented "
                                 "or the account is disabled.")
    since = user.get("_cae_since")
    if since is not None and _cae_capable(claims) and int(claims.get("nbf", 0)) < since:
        raise _claims_challenge(emu, since)
    return Caller(tenant, claims, user, frozenset(str(claims.get("scp", "")).split()), frozenset())


def _cae_capable(claims: dict[str, Any]) -> bool:
    """The client declared it handles claims challenges (xms_cc cp1): only then does Graph apply
    Continuous Access Evaluation; other tokens stay valid until they expire."""
    return "cp1" in {str(c).lower() for c in claims.get("xms_cc") or ()}


def _claims_challenge(emu: Emulator, since: int) -> GraphError:
    """Graph's CAE answer: 401 with the claims (base64 JSON) a new token must satisfy."""
    wanted = json.dumps({"access_token": {"nbf": {"essential": True, "value": str(since)}}}, separators=(",", ":"))
    challenge = (f'Bearer realm="", authorization_uri="{emu.base_url}/common/oauth2/authorize", '
                 f'client_id="{emu.GRAPH_APP_ID}", error="insufficient_claims", '
                 f'claims="{base64.b64encode(wanted.encode()).decode()}"')
    return GraphError(401, "InvalidAuthenticationToken",
                      "Continuous access evaluation resulted in challenge with result: InteractionRequired and code: "
                      "TokenIssuedBeforeRevocationTimestamp", {"WWW-Authenticate": challenge})
