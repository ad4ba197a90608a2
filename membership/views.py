"""Thin views over membership.flows: sign-in, callback, logout, consent, the account page."""

from __future__ import annotations

import json
import logging

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.urls import reverse
from django.utils.module_loading import import_string
from django.utils.safestring import mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from membership import flows
from membership.accounts import disconnect
from membership.conf import conf
from membership.failures import SignInFailure
from membership.models import MicrosoftAccount, MicrosoftSettings
from membership.scopes import ScopeError, parse_scopes

log = logging.getLogger(__name__)


def home(request: HttpRequest) -> HttpResponse:
    ms = MicrosoftSettings.current()
    return render(request, "membership/home.html", {"microsoft_enabled": ms.enabled})


def signin(request: HttpRequest) -> HttpResponse:
    """The sign-in page with the "Sign in with Microsoft" button."""
    ms = MicrosoftSettings.current()
    next_url = flows.safe_next(request, request.GET.get("next"))
    return render(request, "membership/signin.html", {
        "microsoft_enabled": ms.enabled, "next": next_url, "mode": request.GET.get("mode", ""),
    })


def _failed(request: HttpRequest, failure: SignInFailure, mode: str | None = None) -> HttpResponse:
    target = flows.failure_redirect(failure, mode)
    if target:
        return HttpResponseRedirect(target)
    restart = reverse("membership:login") + (f"?mode={mode}" if mode else "")
    return render(request, "membership/sign_in_failed.html", {
        "failure": failure.failure, "detail": failure.shown_detail, "restart": restart,
        "admin_consent": reverse("membership:admin_consent"),
    }, status=failure.status)


@never_cache
@require_GET
def login_view(request: HttpRequest) -> HttpResponse:
    mode = request.GET.get("mode") or None
    try:
        url = flows.begin_sign_in(
            request, mode_name=mode, next_url=request.GET.get("next"),
            purpose="connect" if request.user.is_authenticated else "sign_in",
            login_hint=request.GET.get("login_hint") or None,
        )
    except SignInFailure as failure:
        return _failed(request, failure, mode)
    return HttpResponseRedirect(url)


@never_cache
@csrf_exempt  # the authority posts here in form_post mode; state + PKCE protect the exchange
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest) -> HttpResponse:
    params = (request.POST if request.method == "POST" else request.GET).dict()
    if request.method == "POST" and not request.session.get(flows.SESSION_FLOWS) and not params.get("relayed"):
        # A cross-site form_post arrives without the SameSite=Lax session cookie. Re-post it
        # from our own origin once, so the browser sends the cookie holding the flow.
        return render(request, "membership/form_post_relay.html", {"params": params})
    params.pop("relayed", None)
    if params.get("error"):
        # Microsoft's own words stay in the log: the page shows only the site's text for the code.
        log.info("Microsoft answered the sign-in with an error: %r %r", params["error"][:100],
                 params.get("error_description", "")[:300])
    if flows.is_admin_consent_answer(request, params):
        return _admin_consent_done(request, params)
    mode = flows.pending_mode(request, params.get("state", ""))
    try:
        result = flows.complete_sign_in(request, params)
    except SignInFailure as failure:
        log.info("Sign-in failed: %s", failure.code)
        return _failed(request, failure, mode)
    return HttpResponseRedirect(result.redirect_to)


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    ms = MicrosoftSettings.current()
    signed_in_with_microsoft = bool(request.session.get(flows.SESSION_SIGNED_IN))
    after = flows.after_sign_out_url(request, ms)
    end_session = flows.end_session_url(request, ms, after) if signed_in_with_microsoft else None
    logout(request)
    return HttpResponseRedirect(end_session or after)


@never_cache
@login_required
@require_GET
def consent(request: HttpRequest) -> HttpResponse:
    """Incremental consent: ask Microsoft for more scopes for the signed-in member's account; with
    ``claims``, sign them in again to answer a Graph claims challenge."""
    try:
        wanted = parse_scopes(request.GET.get("scopes", "")).scopes
    except ScopeError as exc:
        return render(request, "membership/bad_request.html", {"message": str(exc)}, status=400)
    claims = request.GET.get("claims") or None
    if claims is not None and not _is_claims(claims):
        return render(request, "membership/bad_request.html",
                      {"message": "The claims parameter must be a JSON object (a claims challenge)."}, status=400)
    account = MicrosoftAccount.objects.of_member(request.user)
    try:
        url = flows.begin_sign_in(
            request, mode_name=account.mode if account else None, next_url=request.GET.get("next"),
            extra_scopes=[*(account.granted_scopes.split() if account else []), *wanted],
            purpose="consent", login_hint=account.username if account else None, claims_challenge=claims,
        )
    except SignInFailure as failure:
        return _failed(request, failure)
    return HttpResponseRedirect(url)


MAX_CLAIMS = 4000  # characters: a challenge names a few claims; anything longer is not one


def _is_claims(text: str) -> bool:
    if len(text) > MAX_CLAIMS:
        return False
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


@never_cache
@require_GET
def admin_consent(request: HttpRequest) -> HttpResponse:
    try:
        return HttpResponseRedirect(flows.admin_consent_url(request))
    except SignInFailure as failure:
        return _failed(request, failure)


def _admin_consent_done(request: HttpRequest, params: dict[str, str]) -> HttpResponse:
    try:
        tenant = flows.complete_admin_consent(request, params)
    except SignInFailure as failure:
        return _failed(request, failure)
    return render(request, "membership/admin_consent_done.html",
                  {"tenant": tenant, "signin_url": resolve_url(settings.LOGIN_URL)})


@never_cache
@login_required
def account(request: HttpRequest) -> HttpResponse:
    accounts = MicrosoftAccount.objects.filter(user=request.user.pk).order_by("username")
    # Other apps add sections (e.g. upcoming events) without membership importing them: each
    # panel is a dotted path to ``(request) -> str`` returning HTML it escaped itself.
    panels = [import_string(path)(request) for path in conf.ACCOUNT_PAGE_PANELS]
    return render(request, "membership/account.html", {
        "accounts": accounts, "panels": mark_safe("".join(panels)),  # noqa: S308
    })


@require_POST
@login_required
def disconnect_view(request: HttpRequest, pk: int) -> HttpResponse:
    account = get_object_or_404(MicrosoftAccount, pk=pk, user=request.user)
    disconnect(account)
    messages.success(request, f"Disconnected {account.username}. Its tokens were deleted.")
    return redirect(conf.account_url())
