"""The browser side: authorize, the sign-in / consent / admin-approval pages, admin consent, logout.

An authorization in progress is a "flow" in ``emu.runtime`` keyed by an opaque id that travels in
hidden form fields. Errors the app cannot be trusted to receive (unknown tenant, app or redirect
URI) are shown as a page; all others go back to the redirect URI as Entra sends them.
"""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

from emulator.identity import pages
from emulator.identity.errors import AADError, redirect_params
from emulator.identity.model import (
    CODE_LIFETIME,
    FLOW_LIFETIME,
    GRAPH,
    SESSION_COOKIE,
    CodeGrant,
    TenantRef,
    client_info,
    configured_app_roles,
    configured_delegated,
    consented,
    eligible_users,
    find_app,
    is_consent_admin,
    missing_consent,
    needs_admin,
    new_secret,
    parse_scopes,
    record_admin_consent,
    record_user_consent,
    redirect_uri_matches,
    resolve_tenant,
    session_id,
    store,
)
from emulator.routing import Request, Response, add_query, html_response, redirect, route

if TYPE_CHECKING:
    from emulator.app import Emulator

PROMPTS = ("login", "select_account", "consent", "none", "create")


def error_page(err: AADError) -> Response:
    return html_response(pages.error(err.code, err.error, err.message), status=400)


# -- delivering the result to the app ------------------------------------------------------------


def deliver(flow: dict[str, Any], params: dict[str, str]) -> Response:
    """Send ``params`` to the app's redirect URI the way response_mode asks."""
    uri = flow["redirect_uri"]
    mode = flow.get("response_mode") or "query"
    if mode == "form_post":
        return html_response(pages.form_post(uri, params))
    if mode == "fragment":
        return redirect(f"{uri}#{urlencode(params, quote_via=quote)}")
    return redirect(add_query(uri, params))


def deliver_error(emu: Emulator, req: Request, flow: dict[str, Any], err: AADError) -> Response:
    with emu.lock:
        store(emu).flows.pop(flow.get("id", ""), None)
    params = redirect_params(emu, req, err, flow.get("state"))
    if flow.get("kind") == "adminconsent":
        params.setdefault("admin_consent", "False")
    return deliver(flow, params)


def with_session(resp: Response, sid: str) -> Response:
    resp.headers["set-cookie"] = f"{SESSION_COOKIE}={sid}; Path=/; Secure; HttpOnly; SameSite=None"
    return resp


# -- authorize ---------------------------------------------------------------------------------


def _validate_client(emu: Emulator, req: Request, q: dict[str, str]) -> tuple[TenantRef, dict[str, Any], str]:
    """Tenant, app and redirect URI: failures here are shown, never redirected."""
    ref = resolve_tenant(emu, req.params["tenant"])
    app = find_app(emu, q.get("client_id"), ref)
    uri = q.get("redirect_uri") or app["redirect_uris"][0]
    if not any(redirect_uri_matches(r, uri) for r in app["redirect_uris"]):
        raise AADError("invalid_request", 50011, redirect_uri=uri, client_id=app["client_id"])
    return ref, app, uri


def _log(emu: Emulator, req: Request, kind: str) -> None:
    q = req.query
    entry = {
        "time": emu.now(), "kind": kind, "tenant": req.params.get("tenant"),
        "client_id": q.get("client_id"), "scope": q.get("scope"), "prompt": q.get("prompt"),
        "response_type": q.get("response_type"), "response_mode": q.get("response_mode"),
        "login_hint": q.get("login_hint"), "domain_hint": q.get("domain_hint"),
        "redirect_uri": q.get("redirect_uri"), "code_challenge_method": q.get("code_challenge_method"),
        "pkce": bool(q.get("code_challenge")), "nonce": q.get("nonce") is not None,
        "state": q.get("state") is not None, "claims": q.get("claims"),
    }
    with emu.lock:
        store(emu).authorize_log.append(entry)


@route("GET", "/{tenant}/oauth2/v2.0/authorize")
def authorize(emu: Emulator, req: Request) -> Response:
    return _authorize(emu, req)


@route("POST", "/{tenant}/oauth2/v2.0/authorize")
def authorize_post(emu: Emulator, req: Request) -> Response:
    # Entra accepts the authorize parameters as a form POST too.
    req.query = {**req.query, **req.form()}
    return _authorize(emu, req)


def _authorize(emu: Emulator, req: Request) -> Response:
    q = req.query
    _log(emu, req, "authorize")
    try:
        ref, app, uri = _validate_client(emu, req, q)
    except AADError as err:
        return error_page(err)
    flow: dict[str, Any] = {
        "id": secrets.token_urlsafe(24), "kind": "authorize", "created": emu.now(),
        "segment": req.params["tenant"], "client_id": app["client_id"], "redirect_uri": uri,
        "response_mode": q.get("response_mode") or "query", "state": q.get("state"),
        "nonce": q.get("nonce"), "prompt": (q.get("prompt") or "").lower() or None,
        "login_hint": q.get("login_hint"), "domain_hint": q.get("domain_hint"),
        "client_info": q.get("client_info") == "1",
    }
    try:
        if flow["response_mode"] not in ("query", "fragment", "form_post"):
            flow["response_mode"] = "query"
            raise AADError("invalid_request", 90023, param="response_mode", value=q.get("response_mode"))
        rtype = q.get("response_type")
        if not rtype:
            raise AADError("invalid_request", 900144, param="response_type")
        if rtype != "code":
            raise AADError("unsupported_response_type", 70005, response_type=rtype)
        scopes = parse_scopes(app, q.get("scope"))
        flow["graph"], flow["oidc"], flow["default"] = scopes.graph, scopes.oidc, scopes.default
        challenge = q.get("code_challenge")
        method = q.get("code_challenge_method") or ("plain" if challenge else None)
        if challenge is not None:
            if method not in ("S256", "plain"):
                raise AADError("invalid_request", 90023, param="code_challenge_method", value=method)
            if not 43 <= len(challenge) <= 128:
                raise AADError("invalid_request", 501491)
        elif q.get("code_challenge_method"):
            raise AADError("invalid_request", 900144, param="code_challenge")
        flow["code_challenge"], flow["code_challenge_method"] = challenge, method
        if flow["prompt"] is not None and flow["prompt"] not in PROMPTS:
            raise AADError("invalid_request", 90023, param="prompt", value=flow["prompt"])
    except AADError as err:
        return deliver_error(emu, req, flow, err)

    with emu.lock:
        st = store(emu)
        now = emu.now()
        for fid in [f for f, v in st.flows.items() if now - v["created"] > FLOW_LIFETIME]:
            del st.flows[fid]
        st.flows[flow["id"]] = flow

    if emu.auto_approve:
        return _auto_approve(emu, req, ref, app, flow)
    if flow["prompt"] == "none":
        return _silent(emu, req, ref, app, flow)
    return _show_sign_in(emu, ref, app, flow)


def _show_sign_in(emu: Emulator, ref: TenantRef, app: dict[str, Any], flow: dict[str, Any],
                  title: str = "Sign in") -> Response:
    flow["stage"] = "signin"
    accounts = eligible_users(emu, ref, flow.get("domain_hint"))
    hint = flow.get("login_hint")
    if hint:  # the hinted account first, as Entra pre-fills it
        accounts.sort(key=lambda tu: tu[1]["userPrincipalName"].lower() != hint.lower())
    action = f"/{flow['segment']}/oauth2/v2.0/login"
    return html_response(pages.sign_in(action, flow["id"], app["displayName"], accounts, hint, title))


def _pick_hinted(emu: Emulator, ref: TenantRef, flow: dict[str, Any]
                 ) -> tuple[dict[str, Any], dict[str, Any]]:
    accounts = eligible_users(emu, ref, flow.get("domain_hint"))
    hint = flow.get("login_hint")
    if hint:
        for t, u in accounts:
            if hint.lower() in (u["userPrincipalName"].lower(), u["id"]):
                return t, u
        tenants = [ref.tenant] if ref.tenant is not None else emu.state["tenants"]
        named = [emu.user(t, hint) for t in tenants]
        if any(u is not None and not u.get("accountEnabled", True) for u in named):
            raise AADError("invalid_request", 50057)  # there, but not eligible: the account is disabled
        raise AADError("invalid_request", 50034, login_hint=hint, tenant=ref.label)
    if not accounts:
        raise AADError("invalid_request", 50034, login_hint="(none)", tenant=ref.label)
    return accounts[0]


def _auto_approve(emu: Emulator, req: Request, ref: TenantRef, app: dict[str, Any],
                  flow: dict[str, Any]) -> Response:
    """Scripts: sign in the hinted (or first) user and grant what was asked, without pages."""
    try:
        tenant, user = _pick_hinted(emu, ref, flow)
        _check_app_usable(app, tenant)
    except AADError as err:
        return deliver_error(emu, req, flow, err)
    with emu.lock:
        record_user_consent(app, tenant["id"], user["id"], flow["graph"])
    return _complete(emu, req, app, flow, tenant, user)


def _silent(emu: Emulator, req: Request, ref: TenantRef, app: dict[str, Any], flow: dict[str, Any]) -> Response:
    """prompt=none: only an existing emulator session, and only if nothing needs consent."""
    sid = session_id(req.headers.get("cookie"))
    with emu.lock:
        signed_in = list(store(emu).sessions.get(sid or "", []))
    eligible = {(t["id"], u["id"]): (t, u) for t, u in eligible_users(emu, ref, flow.get("domain_hint"))}
    candidates = [eligible[k] for k in signed_in if k in eligible]
    hint = flow.get("login_hint")
    if hint:
        candidates = [(t, u) for t, u in candidates if u["userPrincipalName"].lower() == hint.lower()]
    try:
        if not candidates:
            raise AADError("login_required", 50058)
        if len(candidates) > 1:
            raise AADError("interaction_required", 16000, message=(
                "Either multiple user identities are available for the current request or selected "
                "account is not supported for the scenario."))
        tenant, user = candidates[0]
        _check_app_usable(app, tenant)
        if missing_consent(app, tenant["id"], user["id"], flow["graph"]):
            raise AADError("consent_required", 65001, client_id=app["client_id"], app_name=app["displayName"])
    except AADError as err:
        return deliver_error(emu, req, flow, err)
    return _complete(emu, req, app, flow, tenant, user)


def _check_app_usable(app: dict[str, Any], tenant: dict[str, Any]) -> None:
    if app.get("signInAudience") == "AzureADMyOrg" and tenant["id"] != app["home_tenant"]:
        raise AADError("unauthorized_client", 700016, client_id=app["client_id"], tenant=tenant["displayName"])


def _complete(emu: Emulator, req: Request, app: dict[str, Any], flow: dict[str, Any],
              tenant: dict[str, Any], user: dict[str, Any]) -> Response:
    """Issue the code and send it back."""
    code = new_secret("0.AQ")
    with emu.lock:
        st = store(emu)
        st.flows.pop(flow["id"], None)
        st.codes[code] = CodeGrant(
            client_id=app["client_id"], tenant_id=tenant["id"], user_id=user["id"],
            redirect_uri=flow["redirect_uri"], scopes=consented(app, tenant["id"], user["id"]),
            oidc=list(flow["oidc"]), nonce=flow.get("nonce"), code_challenge=flow.get("code_challenge"),
            code_challenge_method=flow.get("code_challenge_method"), issued=emu.now())
        now = emu.now()
        for c in [c for c, g in st.codes.items() if now - g.issued > 4 * CODE_LIFETIME]:
            del st.codes[c]
    params = {"code": code}
    if flow.get("client_info"):
        params["client_info"] = client_info(user["id"], tenant["id"])
    if flow.get("state") is not None:
        params["state"] = flow["state"]
    params["session_state"] = flow["id"][:36]
    return deliver(flow, params)


# -- the pages' form posts ---------------------------------------------------------------------


def _flow(emu: Emulator, req: Request, fields: dict[str, str]) -> dict[str, Any]:
    with emu.lock:
        flow = store(emu).flows.get(fields.get("flow", ""))
    if flow is None or emu.now() - flow["created"] > FLOW_LIFETIME:
        raise AADError("invalid_request", 50089)
    return flow


def _refs(emu: Emulator, flow: dict[str, Any]) -> tuple[TenantRef, dict[str, Any]]:
    ref = resolve_tenant(emu, flow["segment"])
    app = emu.app(flow["client_id"])
    if app is None:
        raise AADError("unauthorized_client", 700016, client_id=flow["client_id"], tenant=ref.label)
    return ref, app


@route("GET", "/{tenant}/oauth2/v2.0/login")
def login_page(emu: Emulator, req: Request) -> Response:
    """The account picker again (from "Sign in with an admin account")."""
    try:
        flow = _flow(emu, req, req.query)
        ref, app = _refs(emu, flow)
    except AADError as err:
        return error_page(err)
    return _show_sign_in(emu, ref, app, flow)


@route("POST", "/{tenant}/oauth2/v2.0/login")
def login(emu: Emulator, req: Request) -> Response:
    fields = req.form()
    try:
        flow = _flow(emu, req, fields)
        ref, app = _refs(emu, flow)
    except AADError as err:
        return error_page(err)
    tid, _, uid = fields.get("user", "").partition(":")
    chosen = next(((t, u) for t, u in eligible_users(emu, ref) if (t["id"], u["id"]) == (tid, uid)), None)
    if chosen is None:
        return _show_sign_in(emu, ref, app, flow)
    tenant, user = chosen
    sid = session_id(req.headers.get("cookie")) or secrets.token_urlsafe(24)
    with emu.lock:
        signed_in = store(emu).sessions.setdefault(sid, [])
        if (tid, uid) not in signed_in:
            signed_in.append((tid, uid))
        flow["user"] = (tid, uid)
        flow["auth_time"] = emu.now()
    try:
        _check_app_usable(app, tenant)
    except AADError as err:
        return with_session(deliver_error(emu, req, flow, err), sid)
    if flow["kind"] == "adminconsent":
        return with_session(_after_admin_sign_in(emu, app, flow, tenant, user), sid)
    return with_session(_after_sign_in(emu, req, app, flow, tenant, user), sid)


def _after_sign_in(emu: Emulator, req: Request, app: dict[str, Any], flow: dict[str, Any],
                   tenant: dict[str, Any], user: dict[str, Any]) -> Response:
    wanted = flow["graph"]
    with emu.lock:
        show = list(wanted) if flow.get("prompt") == "consent" else missing_consent(
            app, tenant["id"], user["id"], wanted)
    if not show:
        return _complete(emu, req, app, flow, tenant, user)
    admin = is_consent_admin(tenant, user["id"])
    blocked = needs_admin(app, show)
    flow["consent_scopes"] = show
    if blocked and not admin:
        flow["stage"] = "approval"
        return html_response(pages.admin_approval(
            f"/{flow['segment']}/oauth2/v2.0/approval", flow["id"], app["displayName"], user, blocked))
    flow["stage"] = "consent"
    listed = [*show, *[s for s in flow["oidc"] if s != "openid"]]
    return html_response(pages.consent(
        f"/{flow['segment']}/oauth2/v2.0/consent", flow["id"], app["displayName"], user, listed,
        offer_org_consent=admin))


def _flow_user(emu: Emulator, flow: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    tid, uid = flow["user"]
    tenant = emu.tenant(tid)
    user = emu.user(tenant, uid) if tenant else None
    if tenant is None or user is None:
        raise AADError("invalid_request", 50089)
    return tenant, user


@route("POST", "/{tenant}/oauth2/v2.0/consent")
def consent(emu: Emulator, req: Request) -> Response:
    fields = req.form()
    try:
        flow = _flow(emu, req, fields)
        _, app = _refs(emu, flow)
        if flow.get("stage") != "consent":
            raise AADError("invalid_request", 50089)
        tenant, user = _flow_user(emu, flow)
    except AADError as err:
        return error_page(err)
    if fields.get("decision") != "accept":
        return deliver_error(emu, req, flow, AADError("access_denied", 65004, subcode="cancel"))
    if flow["kind"] == "adminconsent":
        with emu.lock:
            record_admin_consent(app, tenant["id"], flow["graph"], flow.get("roles"))
            store(emu).flows.pop(flow["id"], None)
        params = {"admin_consent": "True", "tenant": tenant["id"], "scope": flow["scope_param"]}
        if flow.get("state") is not None:
            params["state"] = flow["state"]
        return deliver(flow, params)
    scopes = flow.get("consent_scopes") or []
    with emu.lock:
        if fields.get("org_consent") == "1" and is_consent_admin(tenant, user["id"]):
            record_admin_consent(app, tenant["id"], scopes)
        else:
            record_user_consent(app, tenant["id"], user["id"], scopes)
    return _complete(emu, req, app, flow, tenant, user)


@route("POST", "/{tenant}/oauth2/v2.0/approval")
def approval(emu: Emulator, req: Request) -> Response:
    fields = req.form()
    try:
        flow = _flow(emu, req, fields)
        ref, app = _refs(emu, flow)
        if flow.get("stage") != "approval":
            raise AADError("invalid_request", 50089)
    except AADError as err:
        return error_page(err)
    if fields.get("decision") == "admin":
        return _show_sign_in(emu, ref, app, flow, title="Sign in with an admin account")
    if flow["kind"] == "adminconsent":
        refusal = AADError("access_denied", 90094)
    else:
        refusal = AADError("access_denied", 65001, client_id=app["client_id"], app_name=app["displayName"])
    return deliver_error(emu, req, flow, refusal)


# -- admin consent -----------------------------------------------------------------------------


@route("GET", "/{tenant}/v2.0/adminconsent")
def admin_consent(emu: Emulator, req: Request) -> Response:
    q = req.query
    _log(emu, req, "adminconsent")
    try:
        ref, app, uri = _validate_client(emu, req, q)
    except AADError as err:
        return error_page(err)
    flow: dict[str, Any] = {
        "id": secrets.token_urlsafe(24), "kind": "adminconsent", "created": emu.now(),
        "segment": req.params["tenant"], "client_id": app["client_id"], "redirect_uri": uri,
        "response_mode": "query", "state": q.get("state"), "prompt": None,
        "login_hint": q.get("login_hint"), "domain_hint": q.get("domain_hint"),
        "scope_param": q.get("scope") or f"{GRAPH}/.default",
    }
    try:
        scopes = parse_scopes(app, flow["scope_param"])
    except AADError as err:
        return deliver_error(emu, req, flow, err)
    flow["graph"], flow["oidc"] = scopes.graph, scopes.oidc
    # .default asks for everything on the registration: delegated and application permissions.
    flow["roles"] = configured_app_roles(app) if scopes.default else []
    if scopes.default:
        flow["graph"] = configured_delegated(app)
    with emu.lock:
        store(emu).flows[flow["id"]] = flow
    if emu.auto_approve:
        try:
            tenant, user = _pick_admin(emu, ref, flow)
            _check_app_usable(app, tenant)
        except AADError as err:
            return deliver_error(emu, req, flow, err)
        flow["user"] = (tenant["id"], user["id"])
        flow["stage"] = "consent"
        req_form = urlencode({"flow": flow["id"], "decision": "accept"}).encode()
        return consent(emu, Request("POST", req.path, body=req_form, headers=req.headers, params=req.params))
    return _show_sign_in(emu, ref, app, flow, title="Sign in as an administrator")


def _pick_admin(emu: Emulator, ref: TenantRef, flow: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    if flow.get("login_hint"):
        return _pick_hinted(emu, ref, flow)
    for t, u in eligible_users(emu, ref, flow.get("domain_hint")):
        if is_consent_admin(t, u["id"]):
            return t, u
    return _pick_hinted(emu, ref, flow)


def _after_admin_sign_in(emu: Emulator, app: dict[str, Any], flow: dict[str, Any],
                         tenant: dict[str, Any], user: dict[str, Any]) -> Response:
    if not is_consent_admin(tenant, user["id"]):
        flow["stage"] = "approval"
        return html_response(pages.admin_approval(
            f"/{flow['segment']}/oauth2/v2.0/approval", flow["id"], app["displayName"], user,
            [*flow["graph"], *flow.get("roles", [])]))
    flow["stage"] = "consent"
    listed = [*flow["graph"], *[f"{r} (application)" for r in flow.get("roles", [])]]
    return html_response(pages.consent(
        f"/{flow['segment']}/oauth2/v2.0/consent", flow["id"], app["displayName"], user, listed,
        offer_org_consent=False, for_org=True))


# -- logout ------------------------------------------------------------------------------------


@route("GET", "/{tenant}/oauth2/v2.0/logout")
def logout(emu: Emulator, req: Request) -> Response:
    sid = session_id(req.headers.get("cookie"))
    with emu.lock:
        if sid:
            store(emu).sessions.pop(sid, None)
    target = req.query.get("post_logout_redirect_uri")
    resp = redirect(target) if target else html_response(pages.signed_out())
    resp.headers["set-cookie"] = f"{SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=None"
    return resp


