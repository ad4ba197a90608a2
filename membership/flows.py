"""The sign-in flows as plain functions; views only translate HTTP to and from them.

The MSAL auth-code flow (state, nonce, PKCE verifier) is kept in the member's session, keyed by
state, for at most FLOW_TTL. The callback is normally a same-site GET (response_mode=query), so
the session cookie comes with it.
"""

from __future__ import annotations

import logging
import secrets
import time
import warnings
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import requests
from django.contrib.auth import login
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from msal.exceptions import MsalServiceError

from membership.accounts import link_member, store_tokens
from membership.conf import conf
from membership.failures import SignInFailure, failure_from_aad
from membership.identity import authority_url, msal_app, validate_id_token
from membership.models import MicrosoftAccount, MicrosoftSettings, SignInMode
from membership.scopes import EMAIL_SCOPE, GRAPH_RESOURCE

log = logging.getLogger(__name__)

SESSION_FLOWS = "microsoft_flows"
SESSION_SIGNED_IN = "microsoft_signed_in"
ADMIN_CONSENT_STATE = "microsoft_admin_consent_state"
FLOW_TTL = 10 * 60
MAX_PENDING_FLOWS = 5


@dataclass
class SignInResult:
    account: MicrosoftAccount
    redirect_to: str


def safe_next(request: HttpRequest, target: str | None) -> str:
    """``target`` if it stays on this site, else ""."""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return ""


def _callback_uri(request: HttpRequest) -> str:
    return request.build_absolute_uri(reverse("membership:callback"))


def begin_sign_in(
    request: HttpRequest,
    *,
    mode_name: str | None = None,
    next_url: str | None = None,
    extra_scopes: list[str] | None = None,
    purpose: str = "sign_in",
    login_hint: str | None = None,
    prompt: str | None = None,
    claims_challenge: str | None = None,
) -> str:
    """Start an authorization-code flow with PKCE; return the authority URL to send the browser to.

    ``claims_challenge``: the claims (JSON) a Graph claims challenge asked for; Microsoft then signs
    the member in so as to satisfy them (multi-factor authentication, a new session)."""
    ms = MicrosoftSettings.require_enabled()
    mode = SignInMode.named(mode_name)
    scopes = ms.scopes_for(mode)
    for scope in extra_scopes or []:
        if scope.lower() not in {s.lower() for s in scopes}:
            scopes.append(scope)
    with warnings.catch_warnings():
        # MSAL recommends form_post, but a cross-site POST arrives without the SameSite=Lax
        # session cookie that holds this flow; the query mode keeps the flow bound to the browser.
        warnings.filterwarnings("ignore", message=".*form_post.*")
        flow = msal_app(ms).initiate_auth_code_flow(
            [*scopes, EMAIL_SCOPE], redirect_uri=_callback_uri(request), state=secrets.token_urlsafe(24),
            login_hint=login_hint, prompt=prompt, response_mode="query", claims_challenge=claims_challenge,
        )
    flows = {k: v for k, v in request.session.get(SESSION_FLOWS, {}).items() if v["created"] > time.time() - FLOW_TTL}
    while len(flows) >= MAX_PENDING_FLOWS:
        flows.pop(min(flows, key=lambda k: flows[k]["created"]))
    flows[flow["state"]] = {
        "flow": flow,
        "created": time.time(),
        "mode": mode.name if mode else "",
        "next": safe_next(request, next_url),
        "purpose": purpose,
        "user_id": request.user.pk if request.user.is_authenticated else None,
    }
    request.session[SESSION_FLOWS] = flows
    return flow["auth_uri"]


def _discard_flow(request: HttpRequest, state: str) -> None:
    flows = request.session.get(SESSION_FLOWS, {})
    if flows.pop(state, None) is not None:
        request.session[SESSION_FLOWS] = flows


def pending_mode(request: HttpRequest, state: str) -> str | None:
    """The sign-in mode of the flow this callback answers, if any (for its failure URL)."""
    pending = request.session.get(SESSION_FLOWS, {}).get(state) if state else None
    return (pending.get("mode") or None) if isinstance(pending, dict) else None


def _pop_flow(request: HttpRequest, state: str) -> dict[str, Any]:
    flows = request.session.get(SESSION_FLOWS, {})
    pending = flows.pop(state, None) if state else None
    request.session[SESSION_FLOWS] = flows  # single use, whatever happens next
    if pending is None or pending["created"] < time.time() - FLOW_TTL:
        raise SignInFailure("state_mismatch", "no pending flow for this state")
    return pending


def complete_sign_in(request: HttpRequest, params: dict[str, str]) -> SignInResult:
    """Redeem the callback: code → tokens, validate the id_token, link the member, log in."""
    ms = MicrosoftSettings.require_enabled()
    if params.get("error"):
        _discard_flow(request, params.get("state", ""))
        raise failure_from_aad(params)  # type: ignore[arg-type]
    pending = _pop_flow(request, params.get("state", ""))
    mode = SignInMode.named(pending["mode"])
    flow = pending["flow"]
    try:
        result = msal_app(ms).acquire_token_by_auth_code_flow(flow, params)
    except ValueError:  # MSAL: state mismatch or a response missing its code
        raise SignInFailure("state_mismatch", "callback does not match the flow") from None
    except RuntimeError:  # MSAL: nonce mismatch
        raise SignInFailure("user_profile_failed", "nonce mismatch") from None
    except (requests.RequestException, MsalServiceError) as exc:
        raise SignInFailure("access_token_failed", f"token endpoint unreachable ({type(exc).__name__})") from None
    if "error" in result:
        failure = failure_from_aad(result)
        log.warning("Microsoft sign-in failed: %s (%s)", failure.code, failure.detail)
        raise failure
    claims = validate_id_token(ms, result.get("id_token", ""), nonce=flow["nonce"])

    connect_to = None
    if pending["purpose"] in ("connect", "consent") or pending["user_id"]:
        if not request.user.is_authenticated or request.user.pk != pending["user_id"]:
            raise SignInFailure("state_mismatch", "signed-in member changed during the flow")
        connect_to = request.user
    # The member and their tokens are stored together (no call to Microsoft in between): a crash
    # cannot leave a member without their account, for the next sign-in to duplicate.
    with transaction.atomic():
        account = link_member(claims, ms=ms, mode=mode, connect_to=connect_to)
        if not account.user.is_active:
            raise SignInFailure("member_inactive", "user is_active is off")
        store_tokens(account, result)
    if not request.user.is_authenticated or request.user.pk != account.user_id:
        login(request, account.user, backend="django.contrib.auth.backends.ModelBackend")
    else:
        request.session.cycle_key()
    request.session[SESSION_SIGNED_IN] = {"tid": account.tenant_id, "mode": mode.name if mode else ""}
    target = pending["next"] or (mode.callback_url if mode and mode.callback_url else "") or ms.callback_url
    return SignInResult(account, target or conf.account_url())


def failure_redirect(failure: SignInFailure, mode_name: str | None = None) -> str | None:
    """The configured failure URL with ?f=<code>, or None to render the explanation page."""
    ms = MicrosoftSettings.current()
    mode = SignInMode.objects.filter(name=mode_name).first() if mode_name else None
    url = (mode.failure_url if mode else "") or ms.failure_url
    if not url:
        return None
    return url + ("&" if "?" in url else "?") + urlencode({"f": failure.code})


def after_sign_out_url(request: HttpRequest, ms: MicrosoftSettings) -> str:
    """Where a member lands after signing out: their sign-in mode's page, else the settings', else home."""
    mode_name = request.session.get(SESSION_SIGNED_IN, {}).get("mode")
    mode = SignInMode.objects.filter(name=mode_name).first() if mode_name else None
    return ((mode.logout_url if mode else "") or ms.logout_url
            or request.build_absolute_uri(conf.home_url()))


def end_session_url(request: HttpRequest, ms: MicrosoftSettings, after: str) -> str:
    """The authority's end-session endpoint, coming back to ``after``."""
    tenant = request.session.get(SESSION_SIGNED_IN, {}).get("tid") or ms.tenant
    return f"{authority_url(ms, tenant)}/oauth2/v2.0/logout?" + urlencode({"post_logout_redirect_uri": after})


def admin_consent_url(request: HttpRequest) -> str:
    ms = MicrosoftSettings.require_enabled()
    state = secrets.token_urlsafe(24)
    request.session[ADMIN_CONSENT_STATE] = state
    tenant = ms.tenant if ms.tenant != "common" else "organizations"
    query = urlencode({
        "client_id": ms.client_id,
        "scope": f"{GRAPH_RESOURCE}/.default",
        # The one registered Redirect URI serves admin consent too (see is_admin_consent_answer).
        "redirect_uri": _callback_uri(request),
        "state": state,
    })
    return f"{authority_url(ms, tenant)}/v2.0/adminconsent?{query}"


def is_admin_consent_answer(request: HttpRequest, params: dict[str, str]) -> bool:
    expected = request.session.get(ADMIN_CONSENT_STATE)
    return "admin_consent" in params or bool(expected and params.get("state") == expected)


def complete_admin_consent(request: HttpRequest, params: dict[str, str]) -> str:
    """Check the admin-consent answer; return the tenant that granted consent."""
    expected = request.session.pop(ADMIN_CONSENT_STATE, None)
    if not expected or not secrets.compare_digest(expected, params.get("state", "")):
        raise SignInFailure("state_mismatch", "admin consent state")
    if params.get("error"):
        raise failure_from_aad(params, default="admin_consent_required")  # type: ignore[arg-type]
    if params.get("admin_consent", "").lower() != "true":
        raise SignInFailure("admin_consent_required", "consent not granted")
    return params.get("tenant", "")
