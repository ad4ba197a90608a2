"""What the identity half remembers and decides: tenants in the URL, apps, scopes, consent, codes,
refresh tokens and sign-in sessions.

Everything here lives in ``emu.runtime["identity"]`` (dropped on reset) or, for consent, in the
app registration in ``emu.state`` (so the Graph half sees the same grants). Callers hold
``emu.lock`` around anything that reads and then writes.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from emulator import directory
from emulator.identity.errors import AADError
from emulator.tokens import Signer

if TYPE_CHECKING:
    from emulator.app import Emulator

GRAPH = "https://graph.microsoft.com"
GRAPH_APP_ID = "00000003-0000-0000-c000-000000000000"
OIDC_SCOPES = ("openid", "profile", "email", "offline_access")
CONSUMERS_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"  # the Microsoft-account tenant
META_TENANTS = ("common", "organizations", "consumers")

# Directory roles that may grant tenant-wide consent (delegated and application permissions).
GLOBAL_ADMIN = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMIN = "e8611ab8-c189-46e8-94e1-60213ab1f814"
CONSENT_ADMIN_ROLES = frozenset({GLOBAL_ADMIN, PRIVILEGED_ROLE_ADMIN})

CODE_LIFETIME = 600  # seconds; Entra's codes last about 10 minutes
RT_INACTIVITY = 90 * 24 * 3600
FLOW_LIFETIME = 3600


@dataclass
class CodeGrant:
    client_id: str
    tenant_id: str
    user_id: str
    redirect_uri: str
    scopes: list[str]  # Graph scopes granted (short names)
    oidc: list[str]
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    issued: float
    redeemed: bool = False


@dataclass
class RefreshGrant:
    client_id: str
    tenant_id: str
    user_id: str
    scopes: list[str]
    oidc: list[str]
    auth_time: float  # when the user signed in: the grant's age, kept across rotation
    last_used: float  # when this token was issued: inactivity is counted from here
    redeemed: bool = False


@dataclass
class IdentityState:
    flows: dict[str, dict[str, Any]] = field(default_factory=dict)
    codes: dict[str, CodeGrant] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshGrant] = field(default_factory=dict)
    sessions: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # cookie -> [(tid, uid)]
    # user id -> {"code": n, "since": t}: the control API's forced refresh failures.
    invalid_grant: dict[str, dict[str, Any]] = field(default_factory=dict)
    authorize_log: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=500))
    # jti -> exp of every client assertion accepted, until it expires: a second use is a replay.
    assertion_ids: dict[str, float] = field(default_factory=dict)


def store(emu: Emulator) -> IdentityState:
    with emu.lock:
        st = emu.runtime.get("identity")
        if st is None:
            st = emu.runtime["identity"] = IdentityState()
        return st


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(48)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%m/%d/%Y %H:%M:%S")


# -- tenants and apps --------------------------------------------------------------------------


@dataclass
class TenantRef:
    """The tenant segment of the URL: a real tenant, or one of the meta-tenants."""

    segment: str
    tenant: dict[str, Any] | None  # None for common / organizations / consumers

    @property
    def meta(self) -> str | None:
        return None if self.tenant is not None else self.segment.lower()

    @property
    def label(self) -> str:
        return self.tenant["displayName"] if self.tenant else self.segment


def resolve_tenant(emu: Emulator, segment: str) -> TenantRef:
    if segment.lower() in META_TENANTS:
        return TenantRef(segment.lower(), None)
    tenant = emu.tenant(segment)
    if tenant is None:
        raise AADError("invalid_tenant", 90002, tenant=segment)
    return TenantRef(segment, tenant)


def find_app(emu: Emulator, client_id: str | None, ref: TenantRef) -> dict[str, Any]:
    if not client_id:
        raise AADError("invalid_request", 900144, param="client_id")
    app = emu.app(client_id)
    if app is None:
        raise AADError("unauthorized_client", 700016, client_id=client_id, tenant=ref.label)
    if ref.meta == "consumers":
        raise AADError("unauthorized_client", None, message=(
            "The client does not exist or is not enabled for consumers. If you are the application "
            "developer, configure a new application through the App Registrations in the Azure "
            "Portal at https://go.microsoft.com/fwlink/?linkid=2083908."))
    single = app.get("signInAudience") == "AzureADMyOrg"
    if ref.meta and single:
        raise AADError("invalid_request", 50194, client_id=client_id, app_name=app["displayName"])
    if ref.tenant is not None and single and ref.tenant["id"] != app["home_tenant"]:
        raise AADError("unauthorized_client", 700016, client_id=client_id, tenant=ref.label)
    return app


def app_in_tenant(app: dict[str, Any], tenant_id: str) -> bool:
    """Whether the app has a service principal in the tenant: its home, or consented there."""
    if app["home_tenant"] == tenant_id:
        return True
    return any(tenant_id in (app.get(key) or {})
               for key in ("app_roles", "delegated_admin_consent", "delegated_user_consent"))


def check_secret(emu: Emulator, app: dict[str, Any], secret: str | None) -> None:
    if not secret:
        raise AADError("invalid_client", 7000218)
    for s in app.get("secrets", []):
        if secrets.compare_digest(s["value"].encode(), secret.encode()):
            expires = datetime.strptime(s["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
            if expires.timestamp() <= emu.now():
                raise AADError("invalid_client", 7000222, client_id=app["client_id"])
            return
    raise AADError("invalid_client", 7000215, client_id=app["client_id"])


CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_SKEW = 300  # seconds of clock skew allowed on a client assertion's exp / nbf


def certificate_entry(pem: str) -> dict[str, Any]:
    """A certificate as the app registration lists it (keyCredentials): the PEM, its thumbprints as the
    Azure portal shows them (hex, upper case) and its validity. Raises ValueError for what is not a PEM
    certificate."""
    cert = x509.load_pem_x509_certificate(pem.encode())
    return {
        "pem": pem.strip() + "\n",
        "thumbprint": cert.fingerprint(hashes.SHA1()).hex().upper(),  # noqa: S303 - x5t is SHA-1 by definition
        "thumbprint_sha256": cert.fingerprint(hashes.SHA256()).hex().upper(),
        "start": cert.not_valid_before_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def app_certificates(app: dict[str, Any]) -> list[dict[str, Any]]:
    """The app's registered certificates; a seed may list them as ``{"pem": ...}`` only."""
    return [c if "thumbprint" in c else certificate_entry(c["pem"]) for c in app.get("certificates", [])]


def register_certificate(app: dict[str, Any], pem: str) -> dict[str, Any]:
    """Upload a certificate (Certificates & secrets → Certificates → Upload); uploading it again changes nothing."""
    entry = certificate_entry(pem)
    certs = app_certificates(app)
    if all(c["thumbprint"] != entry["thumbprint"] for c in certs):
        certs.append(entry)
    app["certificates"] = certs
    return entry


def remove_certificate(app: dict[str, Any], thumbprint: str) -> bool:
    """Delete a certificate by its SHA-1 or SHA-256 thumbprint."""
    wanted = thumbprint.replace(":", "").upper()
    certs = app_certificates(app)
    kept = [c for c in certs if wanted not in (c["thumbprint"], c["thumbprint_sha256"])]
    app["certificates"] = kept
    return len(kept) != len(certs)


def _b64url_hex(value: Any) -> str:
    try:
        return base64.urlsafe_b64decode(str(value) + "=" * (-len(str(value)) % 4)).hex().upper()
    except (ValueError, TypeError):
        return ""


def _stamp(value: str) -> str:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").strftime("%m/%d/%Y %H:%M:%S")


def check_client_assertion(emu: Emulator, app: dict[str, Any], assertion_type: str | None,
                           assertion: str | None, token_url: str) -> None:
    """Authenticate the client by a signed JWT (private_key_jwt), as Entra does for certificate credentials.

    What was checked against Microsoft's documentation ("certificate credentials", the Azure SDK
    troubleshooting tables and error texts quoted in public issue threads): RS256 with ``x5t`` or PS256
    with ``x5t#S256``; ``aud`` the token endpoint, ``iss`` = ``sub`` = the client id; AADSTS700027 for a
    key that is not registered or a signature that does not verify, 700024 for ``exp``/``nbf`` outside
    the valid time range, 700021 for ``iss``/``sub`` not the client, 700023 for a wrong audience (older
    reports show 50012 for that). Not verified: the code for a malformed assertion and whether Entra
    refuses a reused ``jti`` (MSAL reuses one assertion for minutes). The emulator answers both with
    AADSTS50027 ("JWT token is invalid or malformed") and does refuse a replay, as RFC 7523 §3 allows,
    so the product is held to a fresh assertion per request.
    """
    if assertion_type != CLIENT_ASSERTION_TYPE:
        raise AADError("invalid_request", 90023, param="client_assertion_type", value=assertion_type or "")
    if not assertion:
        raise AADError("invalid_request", 900144, param="client_assertion")
    try:
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise AADError("invalid_client", 50027, reason="the client assertion is not a JWT") from None
    alg = header.get("alg")
    if alg not in ("RS256", "PS256"):
        raise AADError("invalid_client", 50027, reason=f"alg '{alg}' is not RS256 or PS256")
    sha256, sha1 = _b64url_hex(header.get("x5t#S256", "")), _b64url_hex(header.get("x5t", ""))
    used = sha256 or sha1
    if not used:
        raise AADError("invalid_client", 50027, reason="no x5t or x5t#S256 header names the certificate")
    found = next((c for c in app_certificates(app) if used in (c["thumbprint"], c["thumbprint_sha256"])), None)
    if found is None:
        raise AADError("invalid_client", 700027, reason="The key was not found.", thumbprint=used,
                       client_id=app["client_id"])
    start = datetime.strptime(found["start"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    end = datetime.strptime(found["end"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    if not start <= emu.now() < end:
        raise AADError("invalid_client", 700027, reason="The key used is expired.", thumbprint=used,
                       client_id=app["client_id"])
    key = x509.load_pem_x509_certificate(found["pem"].encode()).public_key()
    try:
        claims = jwt.decode(assertion, key, algorithms=[alg], options={  # type: ignore[arg-type]
            "verify_aud": False, "verify_exp": False, "verify_nbf": False, "verify_iat": False})
    except jwt.InvalidSignatureError:
        raise AADError("invalid_client", 700027, thumbprint=used, client_id=app["client_id"], reason=(
            "The provided signature value did not match the expected signature value., Found key "
            f"'Start={_stamp(found['start'])}, End={_stamp(found['end'])}'")) from None
    except jwt.PyJWTError:
        raise AADError("invalid_client", 50027, reason="the client assertion could not be decoded") from None
    missing = [c for c in ("aud", "iss", "sub", "exp", "jti") if not claims.get(c)]
    if missing:
        raise AADError("invalid_client", 50027, reason=f"missing claims: {', '.join(missing)}")
    if claims["iss"] != app["client_id"] or claims["sub"] != app["client_id"]:
        raise AADError("invalid_client", 700021, client_id=app["client_id"])
    if str(claims["aud"]).rstrip("/").lower() != token_url.rstrip("/").lower():
        raise AADError("invalid_client", 700023, audience=claims["aud"])
    now = emu.now()
    try:
        exp, nbf = float(claims["exp"]), float(claims.get("nbf") or claims.get("iat") or 0)
    except (TypeError, ValueError):
        raise AADError("invalid_client", 50027, reason="exp or nbf is not a number") from None
    if exp + ASSERTION_SKEW <= now or nbf - ASSERTION_SKEW > now:
        raise AADError("invalid_client", 700024)
    with emu.lock:
        seen = store(emu).assertion_ids
        for jti in [j for j, until in seen.items() if until + ASSERTION_SKEW <= now]:
            del seen[jti]
        if str(claims["jti"]) in seen:
            raise AADError("invalid_client", 50027, reason="the jti was already used (a replayed assertion)")
        seen[str(claims["jti"])] = exp


def redirect_uri_matches(registered: str, given: str) -> bool:
    """Exact match, except that ports are ignored for http://localhost and http://127.0.0.1,
    as Entra does for loopback redirect URIs."""
    if registered == given:
        return True
    r, g = urlsplit(registered), urlsplit(given)
    loopback = ("localhost", "127.0.0.1")
    if r.scheme == g.scheme == "http" and r.hostname in loopback and r.hostname == g.hostname:
        return (r.path, r.query) == (g.path, g.query)
    return False


# -- users -------------------------------------------------------------------------------------


def eligible_users(emu: Emulator, ref: TenantRef, domain_hint: str | None = None
                   ) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(tenant, user) pairs who may sign in here: the tenant's users, or everyone's on
    common/organizations (the multi-tenant app signs in users from any directory)."""
    tenants = [ref.tenant] if ref.tenant is not None else list(emu.state["tenants"])
    if domain_hint and ref.tenant is None:
        hinted = emu.tenant(domain_hint)
        if hinted is not None:
            tenants = [hinted]
    return [(t, u) for t in tenants for u in t["users"] if u.get("accountEnabled", True)]


def find_user(emu: Emulator, key: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    for t in emu.state["tenants"]:
        u = emu.user(t, key)
        if u is not None:
            return t, u
    return None


def is_consent_admin(tenant: dict[str, Any], user_id: str) -> bool:
    return any(a["principalId"] == user_id and a["roleDefinitionId"] in CONSENT_ADMIN_ROLES
               for a in tenant.get("roleAssignments", []))


# -- scopes ------------------------------------------------------------------------------------


@dataclass
class Scopes:
    graph: list[str]  # short names, canonical casing
    oidc: list[str]
    default: bool = False  # "{resource}/.default" was asked for


def canonical(app: dict[str, Any], name: str) -> str | None:
    for known in app.get("known_scopes", []):
        if known.lower() == name.lower():
            return known
    return None


def configured_delegated(app: dict[str, Any]) -> list[str]:
    """The permissions on the app registration, which ``.default`` stands for."""
    return list(app.get("delegated_permissions") or app.get("user_consentable") or [])


def configured_app_roles(app: dict[str, Any]) -> list[str]:
    if app.get("application_permissions") is not None:
        return list(app["application_permissions"])
    return list((app.get("app_roles") or {}).get(app["home_tenant"], []))


def parse_scopes(app: dict[str, Any], raw: str | None) -> Scopes:
    """Split a scope parameter into Graph scopes and OpenID scopes; reject what Graph lacks."""
    if raw is None or not raw.strip():
        raise AADError("invalid_request", 900144, param="scope")
    graph: list[str] = []
    oidc: list[str] = []
    default = False
    for item in raw.split():
        low = item.lower()
        if low in OIDC_SCOPES:
            if low not in oidc:
                oidc.append(low)
            continue
        name = item
        for prefix in (GRAPH + "/", GRAPH_APP_ID + "/", "https://graph.microsoft.com//"):
            if low.startswith(prefix):
                name = item[len(prefix):]
                break
        else:
            if "/" in item:  # another resource: this emulator only hosts Graph
                raise AADError("invalid_scope", 70011, scope=item)
        if name.lower() == ".default":
            default = True
            continue
        known = canonical(app, name)
        if known is None:
            raise AADError("invalid_scope", 70011, scope=item)
        if known not in graph:
            graph.append(known)
    if default:
        if graph:  # Entra refuses .default mixed with named scopes of the same resource
            raise AADError("invalid_scope", 70011, scope=raw)
        graph = configured_delegated(app)
    return Scopes(graph, oidc, default)


def consented(app: dict[str, Any], tenant_id: str, user_id: str) -> list[str]:
    """Delegated scopes this user may use: tenant-wide admin consent plus their own."""
    admin = (app.get("delegated_admin_consent") or {}).get(tenant_id, [])
    mine = ((app.get("delegated_user_consent") or {}).get(tenant_id) or {}).get(user_id, [])
    out: list[str] = []
    for s in [*admin, *mine]:
        if s not in out:
            out.append(s)
    return out


def missing_consent(app: dict[str, Any], tenant_id: str, user_id: str, wanted: list[str]) -> list[str]:
    have = {s.lower() for s in consented(app, tenant_id, user_id)}
    return [s for s in wanted if s.lower() not in have]


def needs_admin(app: dict[str, Any], scopes: list[str]) -> list[str]:
    consentable = {s.lower() for s in app.get("user_consentable", [])}
    return [s for s in scopes if s.lower() not in consentable]


def record_user_consent(app: dict[str, Any], tenant_id: str, user_id: str, scopes: list[str]) -> None:
    per_tenant = app.setdefault("delegated_user_consent", {}).setdefault(tenant_id, {})
    mine = per_tenant.setdefault(user_id, [])
    for s in scopes:
        if s.lower() not in {m.lower() for m in mine}:
            mine.append(s)


def record_admin_consent(app: dict[str, Any], tenant_id: str, scopes: list[str],
                         roles: list[str] | None = None) -> None:
    tenant_wide = app.setdefault("delegated_admin_consent", {}).setdefault(tenant_id, [])
    for s in scopes:
        if s.lower() not in {m.lower() for m in tenant_wide}:
            tenant_wide.append(s)
    if roles:
        granted = app.setdefault("app_roles", {}).setdefault(tenant_id, [])
        for r in roles:
            if r not in granted:
                granted.append(r)


# -- sessions (the emulator's SSO cookie, for prompt=none) ---------------------------------------

SESSION_COOKIE = "emu_estsauth"


def session_id(req_cookie: str | None) -> str | None:
    if not req_cookie:
        return None
    for part in req_cookie.split(";"):
        name, _, value = part.strip().partition("=")
        if name == SESSION_COOKIE and value:
            return value
    return None


# -- tokens ------------------------------------------------------------------------------------


def client_info(user_id: str, tenant_id: str) -> str:
    raw = json.dumps({"uid": user_id, "utid": tenant_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def pairwise_sub(user_id: str, client_id: str) -> str:
    """Entra's ``sub`` is unique per user and app."""
    digest = hashlib.sha256(f"{user_id}/{client_id}".encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:43]


def issue_id_token(emu: Emulator, tenant_id: str, client_id: str, user: dict[str, Any],
                   oidc: list[str], nonce: str | None, auth_time: float) -> str:
    now = int(emu.now())
    claims: dict[str, Any] = {
        "aud": client_id,
        "iss": f"{emu.base_url}/{tenant_id}/v2.0",
        "iat": now,
        "nbf": now,
        "exp": now + 3600,
        "oid": user["id"],
        "sub": pairwise_sub(user["id"], client_id),
        "tid": tenant_id,
        # The sign-in session: the same across refreshes of one sign-in. (auth_time is an optional
        # claim Entra leaves out unless the app asks for it.)
        "sid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sid/{user['id']}/{auth_time}")),
        "uti": uuid.uuid4().hex[:22],
        "ver": "2.0",
    }
    if "profile" in oidc:  # name, preferred_username: the profile scope's claims
        claims["name"] = user["displayName"]
        claims["preferred_username"] = user["userPrincipalName"]
    if "email" in oidc and user.get("mail"):
        claims["email"] = user["mail"]
    if nonce is not None:
        claims["nonce"] = nonce
    claims.update(directory_claims(emu, tenant_id, client_id, user))
    tamper = dict(emu.id_token_tamper)
    if tamper.pop("rogue_key", False):
        rogue = Signer.generate()
        rogue.kid = emu.signer.kid
        claims.update(tamper)
        return rogue.sign(claims)
    claims.update(tamper)
    return emu.signer.sign(claims)


def directory_claims(emu: Emulator, tenant_id: str, client_id: str, user: dict[str, Any]) -> dict[str, Any]:
    """``roles`` (the app's roles assigned to the user or their groups), ``groups`` (as the registration's
    ``groupMembershipClaims`` asks: SecurityGroup or All) and ``wids`` (directory role templates), each
    only when non-empty. Past ``groups_claim_limit`` groups Entra leaves ``groups`` out and points to
    where they can be read instead (the overage indicator)."""
    tenant, app = emu.tenant(tenant_id), emu.app(client_id)
    if tenant is None or app is None:
        return {}
    out: dict[str, Any] = {}
    roles = directory.role_values(emu, tenant, app, user["id"])
    if roles:
        out["roles"] = roles
    wanted = str(app.get("groupMembershipClaims") or "None")
    if wanted in ("SecurityGroup", "All"):
        groups = [g["id"] for g in directory.transitive_groups(tenant, user["id"])
                  if wanted == "All" or g.get("securityEnabled", True)]
        if len(groups) > emu.groups_claim_limit:
            out["_claim_names"] = {"groups": "src1"}
            out["_claim_sources"] = {"src1": {
                "endpoint": f"https://graph.windows.net/{tenant_id}/users/{user['id']}/getMemberObjects"}}
        elif groups:
            out["groups"] = groups
    wids = sorted({a["roleDefinitionId"] for a in tenant.get("roleAssignments", []) if a["principalId"] == user["id"]})
    if wids:
        out["wids"] = wids
    return out


def token_response(emu: Emulator, *, tenant_id: str, client_id: str, user: dict[str, Any],
                   graph_scopes: list[str], oidc: list[str], nonce: str | None, auth_time: float,
                   want_client_info: bool, claims: tuple[list[str], int | None] = ([], None)) -> dict[str, Any]:
    """The delegated token response; stores a refresh token when offline_access was asked for.
    ``claims``: the client capabilities and challenge ``nbf`` its request's claims asked for."""
    capabilities, not_before = claims
    if not_before is not None:
        not_before = min(not_before, int(emu.now()) + 300)
    access, expires_in = emu.issue_access_token(tenant_id, client_id, user=user, scopes=graph_scopes,
                                                capabilities=capabilities, not_before=not_before)
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "scope": " ".join([*graph_scopes, *[s for s in oidc if s != "offline_access"]]),
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": access,
    }
    if "offline_access" in oidc:
        rt = new_secret("1.AQ")
        with emu.lock:
            store(emu).refresh_tokens[rt] = RefreshGrant(
                client_id, tenant_id, user["id"], list(graph_scopes), list(oidc), auth_time, emu.now())
        body["refresh_token"] = rt
    if "openid" in oidc:
        body["id_token"] = issue_id_token(emu, tenant_id, client_id, user, oidc, nonce, auth_time)
    if want_client_info:
        body["client_info"] = client_info(user["id"], tenant_id)
    return body
