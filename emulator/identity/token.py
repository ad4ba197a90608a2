"""``POST /{tenant}/oauth2/v2.0/token``: authorization_code, refresh_token, client_credentials.

The client authenticates with a secret (HTTP Basic or the body) or a signed client assertion
(a certificate credential).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from emulator.identity.errors import AADError, token_error
from emulator.identity.model import (
    CODE_LIFETIME,
    GRAPH,
    GRAPH_APP_ID,
    RT_INACTIVITY,
    RefreshGrant,
    TenantRef,
    app_in_tenant,
    check_client_assertion,
    check_secret,
    consented,
    find_app,
    iso,
    missing_consent,
    parse_scopes,
    resolve_tenant,
    store,
    token_response,
)
from emulator.routing import Request, Response, json_response, route

if TYPE_CHECKING:
    from emulator.app import Emulator


def _client_credentials(req: Request, form: dict[str, str]) -> tuple[str | None, str | None]:
    """client_id/secret from HTTP Basic (form-encoded inside, per RFC 6749) or the body."""
    auth = req.headers.get("authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            raw = base64.b64decode(auth[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise AADError("invalid_client", 7000215, client_id="(unreadable)") from None
        cid, _, secret = raw.partition(":")
        return unquote_plus(cid), unquote_plus(secret)
    return form.get("client_id"), form.get("client_secret")


@route("POST", "/{tenant}/oauth2/v2.0/token")
def token(emu: Emulator, req: Request) -> Response:
    form = req.form()
    grant_type = form.get("grant_type") or "(missing)"
    with emu.lock:
        emu.grants[grant_type] += 1
    try:
        ref = resolve_tenant(emu, req.params["tenant"])
        if grant_type == "(missing)":
            raise AADError("invalid_request", 900144, param="grant_type")
        client_id, secret = _client_credentials(req, form)
        app = find_app(emu, client_id, ref)
        if form.get("client_assertion") or form.get("client_assertion_type"):
            # The assertion's audience is this very endpoint, with the tenant segment as the caller wrote it.
            token_url = f"{emu.base_url}/{req.params['tenant']}/oauth2/v2.0/token"
            check_client_assertion(emu, app, form.get("client_assertion_type"), form.get("client_assertion"),
                                   token_url)
        else:
            check_secret(emu, app, secret)
        if grant_type == "authorization_code":
            body = _authorization_code(emu, ref, app, form)
        elif grant_type == "refresh_token":
            body = _refresh_token(emu, ref, app, form)
        elif grant_type == "client_credentials":
            body = _client_credentials_grant(emu, ref, app, form)
        else:
            raise AADError("unsupported_grant_type", 70003, grant_type=grant_type)
    except AADError as err:
        return token_error(emu, req, err)
    return json_response(body, headers={"cache-control": "no-store, no-cache", "pragma": "no-cache",
                                        "client-request-id": req.headers.get("client-request-id") or ""})


def account_or_error(emu: Emulator, tenant_id: str, user_id: str) -> dict[str, Any]:
    """The grant's user, if they may still get tokens: a deleted account is AADSTS50034 (it no longer
    exists in the directory, soft-deleted or not), a disabled one AADSTS50057."""
    tenant = emu.tenant(tenant_id)
    user = emu.user(tenant, user_id) if tenant else None
    if user is None:
        raise AADError("invalid_grant", 50034, login_hint="{EUII Hidden}", tenant=tenant_id)
    if not user.get("accountEnabled", True):
        raise AADError("invalid_grant", 50057)
    return user


def _same_tenant(ref: TenantRef, tenant_id: str) -> bool:
    # A code or refresh token may be redeemed on its own tenant or on common/organizations.
    return ref.tenant is None or ref.tenant["id"] == tenant_id


def _pkce_ok(challenge: str, method: str | None, verifier: str) -> bool:
    if method == "S256":
        digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
        computed = base64.urlsafe_b64encode(digest).decode().rstrip("=")
        return secrets.compare_digest(computed, challenge)
    return secrets.compare_digest(verifier.encode(), challenge.encode())


def _authorization_code(emu: Emulator, ref: TenantRef, app: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    code = form.get("code")
    if not code:
        raise AADError("invalid_request", 900144, param="code")
    if not form.get("redirect_uri"):
        raise AADError("invalid_request", 900144, param="redirect_uri")
    with emu.lock:
        grant = store(emu).codes.get(code)
        if grant is None or grant.client_id != app["client_id"] or not _same_tenant(ref, grant.tenant_id):
            raise AADError("invalid_grant", 70000, param="code",
                           detail="The code is malformed or was not issued to this client.")
        if grant.redeemed:
            raise AADError("invalid_grant", 54005)
        if emu.now() - grant.issued > CODE_LIFETIME:
            raise AADError("invalid_grant", 70008)
        if form["redirect_uri"] != grant.redirect_uri:
            raise AADError("invalid_grant", 50011, redirect_uri=form["redirect_uri"], client_id=app["client_id"])
        if grant.code_challenge is not None:
            verifier = form.get("code_verifier")
            if not verifier:
                raise AADError("invalid_request", 900144, param="code_verifier")
            if not _pkce_ok(grant.code_challenge, grant.code_challenge_method, verifier):
                raise AADError("invalid_grant", 501481)
        # Only a successful redemption uses the code up: a wrong verifier may be retried.
        grant.redeemed = True
    user = account_or_error(emu, grant.tenant_id, grant.user_id)
    return token_response(emu, tenant_id=grant.tenant_id, client_id=app["client_id"], user=user,
                          graph_scopes=grant.scopes, oidc=grant.oidc, nonce=grant.nonce,
                          auth_time=grant.issued, want_client_info=form.get("client_info") == "1",
                          claims=requested_claims(form.get("claims")))


def _refresh_token(emu: Emulator, ref: TenantRef, app: dict[str, Any], form: dict[str, str]) -> dict[str, Any]:
    rt = form.get("refresh_token")
    if not rt:
        raise AADError("invalid_request", 900144, param="refresh_token")
    now = emu.now()
    with emu.lock:
        st = store(emu)
        grant = st.refresh_tokens.get(rt)
        if grant is None or grant.client_id != app["client_id"] or not _same_tenant(ref, grant.tenant_id):
            raise AADError("invalid_grant", 9002313, message=(
                "Invalid request. Request is malformed or invalid. The refresh token is not valid "
                "for this client."))
        if grant.redeemed and emu.strict_rotation:
            raise AADError("invalid_grant", 70000, param="refresh_token",
                           detail="The refresh token was already redeemed (strict rotation).")
        if now - grant.last_used > RT_INACTIVITY:
            raise AADError("invalid_grant", 700082, issued=iso(grant.auth_time),
                           inactive=f"{int((now - grant.last_used) // 86400)}.00:00:00")
        forced = st.invalid_grant.get(grant.user_id)
        if forced is not None and grant.auth_time <= forced["since"]:
            _raise_forced(app, grant, forced)
        user = account_or_error(emu, grant.tenant_id, grant.user_id)
        requested = grant.scopes
        oidc = grant.oidc
        if form.get("scope"):
            asked = parse_scopes(app, form["scope"])
            requested = asked.graph if (asked.graph or not asked.default) else grant.scopes
            oidc = [s for s in grant.oidc if s in asked.oidc or s == "offline_access"]
        # Consent is checked again: a withdrawn grant stops refresh tokens (AADSTS65001).
        if missing_consent(app, grant.tenant_id, grant.user_id, requested or grant.scopes):
            raise AADError("invalid_grant", 65001, subcode="consent_required", client_id=app["client_id"],
                           app_name=app["displayName"])
        grant.redeemed = True
        scopes = consented(app, grant.tenant_id, grant.user_id)
    body = token_response(emu, tenant_id=grant.tenant_id, client_id=app["client_id"], user=user,
                          graph_scopes=scopes, oidc=[*oidc, "offline_access"], nonce=None,
                          auth_time=grant.auth_time, want_client_info=form.get("client_info") == "1",
                          claims=requested_claims(form.get("claims")))
    return body


# A Conditional Access policy id, as Entra names the policy behind a claims challenge (capolids).
CA_POLICY_ID = "9d5c8c2e-3a8e-4f6b-8f2e-2b7c0e4d1a53"


def _raise_forced(app: dict[str, Any], grant: RefreshGrant, forced: dict[str, Any]) -> None:
    """The refresh failure the control API asked for, in the shape Entra answers it.

    50076 (MFA needed) follows a captured Entra answer: invalid_grant, suberror basic_action and a
    claims challenge naming the policy. 50079 (MFA enrolment) and 53003 (blocked by Conditional
    Access) come as interaction_required; only 50079 can be solved by the member.
    """
    code = int(forced["code"])
    if code == 50173:
        raise AADError("invalid_grant", 50173, issued=iso(grant.auth_time), valid_from=iso(forced["since"]))
    if code == 700082:
        raise AADError("invalid_grant", 700082, issued=iso(grant.auth_time), inactive="90.00:00:00")
    if code == 70008:
        raise AADError("invalid_grant", 70008)
    policy = json.dumps({"access_token": {"capolids": {"essential": True, "values": [CA_POLICY_ID]}}},
                        separators=(",", ":"))
    if code == 50076:
        raise AADError("invalid_grant", 50076, subcode="basic_action", claims=policy, resource=GRAPH_APP_ID)
    if code == 50079:
        raise AADError("interaction_required", 50079, subcode="basic_action", resource=GRAPH_APP_ID)
    if code == 53003:
        raise AADError("interaction_required", 53003, subcode="message_only", claims=policy)
    raise AADError("invalid_grant", 65001, subcode="consent_required", client_id=app["client_id"],
                   app_name=app["displayName"])


def requested_claims(raw: str | None) -> tuple[list[str], int | None]:
    """From a request's ``claims`` parameter: the client's capabilities (``xms_cc``, e.g. cp1) and
    the ``nbf`` a claims challenge demands. Unreadable claims ask for nothing."""
    try:
        access = (json.loads(raw) if raw else {}).get("access_token") or {}
        capabilities = [str(c) for c in (access.get("xms_cc") or {}).get("values") or []]
        nbf = (access.get("nbf") or {}).get("value")
        return capabilities, int(nbf) if nbf is not None else None
    except (ValueError, TypeError, AttributeError):
        return [], None


def _client_credentials_grant(emu: Emulator, ref: TenantRef, app: dict[str, Any],
                              form: dict[str, str]) -> dict[str, Any]:
    if ref.tenant is None:
        raise AADError("invalid_request", 50059)
    scope = (form.get("scope") or "").strip()
    if not scope:
        raise AADError("invalid_request", 900144, param="scope")
    items = scope.split()
    resource = None
    if len(items) == 1 and items[0].lower().endswith("/.default"):
        resource = items[0][: -len("/.default")].rstrip("/")
    if resource is None:
        raise AADError("invalid_scope", 1002012, scope=scope)
    if resource.lower() not in (GRAPH, GRAPH_APP_ID):
        raise AADError("invalid_resource", 500011, resource=resource, tenant=ref.label)
    tenant = ref.tenant
    with emu.lock:
        if not app_in_tenant(app, tenant["id"]):
            raise AADError("unauthorized_client", 700016, client_id=app["client_id"], tenant=tenant["displayName"])
        roles = list((app.get("app_roles") or {}).get(tenant["id"], []))
    access, expires_in = emu.issue_access_token(tenant["id"], app["client_id"], roles=roles)
    return {"token_type": "Bearer", "expires_in": expires_in, "ext_expires_in": expires_in,
            "access_token": access}


