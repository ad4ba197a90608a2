"""A member's valid access token, renewed once across all processes.

The stored token is reused while it is fresh (``MicrosoftAccount.has_fresh_access_token``).
Otherwise the account is refreshed under a per-account lock (Redis when REDIS_URL is set, else a
file lock), so two processes never redeem the same refresh token (Entra may rotate it, and a
strict tenant kills the old one). Storing and disconnecting are the model's
(``MicrosoftAccount.store_tokens`` / ``disconnect``).

No database transaction is open while Microsoft is asked: the account is read, the token
endpoint called, and the answer written in a short transaction that re-reads the row and keeps
what is there if it changed meanwhile (a disconnect, a new sign-in, or another process whose lock
outlived ours). On SQLite an open transaction holds the one write lock of the whole site.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import NoReturn

import requests
from django.db import transaction
from django.utils import timezone
from msal.exceptions import MsalServiceError

from membership.failures import (
    Reason,
    SignInFailure,
    aadsts_codes,
    aadsts_failure,
    reason_from_aad,
    unreachable,
)
from membership.identity import CLIENT_CAPABILITIES, msal_app
from membership.lib.encryption import UndecryptableValue
from membership.lib.http import lock_ttl, time_left
from membership.lib.locks import LockTimeout, held
from membership.metrics import TOKEN_REFRESHES
from membership.models import MicrosoftAccount, MicrosoftSettings
from membership.scopes import OIDC_SCOPES
from membership.signals import account_needs_reconsent

log = logging.getLogger(__name__)

Status = MicrosoftAccount.Status


class NotConnected(Exception):
    """The member has no usable Microsoft connection (never signed in, or disconnected)."""


class RefreshFailed(Exception):
    """Renewing the member's token failed, for ``reason`` (RECONSENT: they must reconnect)."""

    def __init__(self, message: str, *, reason: Reason, aad_code: str = "", host: str = "") -> None:
        super().__init__(message)
        self.reason = reason
        self.aad_code = aad_code
        self.host = host  # the host that could not be reached (TLS, DNS), when known

    @property
    def permanent(self) -> bool:
        return self.reason.permanent


def access_token(account: MicrosoftAccount) -> str:
    """A valid access token for ``account``, refreshing it if needed."""
    if account.status == Status.NEEDS_RECONSENT:
        raise RefreshFailed(account.last_error or "The member must reconnect.", reason=Reason.RECONSENT)
    if account.status == Status.REVOKED:
        raise NotConnected("The member disconnected their Microsoft account.")
    try:
        if account.has_fresh_access_token():
            return account.access_token
    except UndecryptableValue:
        pass  # refresh_account decides what an undecryptable token means
    return refresh_account(account.pk).access_token


def refresh_account(account_id: int, *, renewed_before: datetime | None = None,
                    ms: MicrosoftSettings | None = None, claims_challenge: str | None = None) -> MicrosoftAccount:
    """Redeem the account's refresh token (unless another process just did) and store the result.

    Without ``renewed_before`` it renews only a stale access token (a caller needs one). With it
    (the background sweep keeping refresh tokens alive), it renews an account last renewed
    before that time, whatever its access token — and skips one renewed since, so a redelivered
    sweep task redeems nothing twice. ``ms``: the settings, when the caller already has them.
    ``claims_challenge``: the claims (JSON) Graph's 401 asked for; the access token is renewed
    whatever its age, carrying them.
    """
    ms = ms or MicrosoftSettings.current()
    ttl = lock_ttl()
    left = time_left()  # inside a deadline block, queue no longer than it allows
    wait = ttl if left is None else max(0.0, min(ttl, left))
    try:
        with held(f"ms-account:{account_id}", timeout=ttl, wait=wait):
            return _refresh(account_id, renewed_before, ms, claims_challenge)
    except LockTimeout:
        raise RefreshFailed("Another process is still renewing this member's sign-in. Retry shortly.",
                            reason=Reason.TIMEOUT) from None


def _refresh(account_id: int, renewed_before: datetime | None, ms: MicrosoftSettings,
             claims_challenge: str | None = None) -> MicrosoftAccount:
    try:
        account = MicrosoftAccount.objects.with_tokens().get(pk=account_id)
    except UndecryptableValue:
        _unreadable_tokens(account_id, ms)
    _check_usable(account)
    if claims_challenge is not None:
        pass  # the stored access token was refused: renew it, however fresh
    elif renewed_before is None:
        if account.has_fresh_access_token():
            return account  # another process renewed it while we waited for the lock
    elif account.last_refreshed_at and account.last_refreshed_at >= renewed_before:
        return account
    scopes = [s for s in account.granted_scopes.split() if s.lower() not in OIDC_SCOPES] or ["User.Read"]
    try:
        # MSAL adds the app's client capabilities to the claims of sign-ins and silent renewals, not
        # to a refresh token redeemed directly: send them here, with the challenge's claims if any.
        result = msal_app(ms).acquire_token_by_refresh_token(
            account.refresh_token, scopes=scopes, data={"claims": request_claims(claims_challenge)})
    except SignInFailure as not_built:  # building the MSAL app: discovery, or an unreadable secret
        _not_asked(account_id, not_built)
    except (requests.RequestException, MsalServiceError) as exc:
        # MsalServiceError: a 5xx from the token endpoint (MSAL then throttles for Retry-After).
        _not_asked(account_id, unreachable(exc, "token endpoint"))
    failure = _failure(result) if "error" in result else None

    with transaction.atomic():
        current = MicrosoftAccount.objects.with_tokens().select_for_update().get(pk=account_id)
        changed = current.refresh_token != account.refresh_token or current.status != account.status
        if changed:
            pass  # what is stored now is newer than what we redeemed: keep it
        elif failure is None:
            current.store_tokens(result)
        elif failure.permanent:
            current.status = Status.NEEDS_RECONSENT
            current.last_error = str(failure)
            current.save(update_fields=["status", "last_error", "updated_at"])
        else:
            MicrosoftAccount.objects.filter(pk=account_id).update(last_error=str(failure))
    TOKEN_REFRESHES.labels("superseded" if changed else "refreshed" if failure is None
                           else "needs_reconsent" if failure.permanent else "failed").inc()
    if changed:
        log.info("Microsoft account %s changed while it was being renewed; keeping the stored tokens", account_id)
        _check_usable(current)
        return current
    if failure is not None:
        log.warning("Refreshing Microsoft account %s failed: %s (%s)", account_id, failure.reason,
                    failure.aad_code or "no AADSTS code")
        if failure.permanent:
            account_needs_reconsent.send(sender=MicrosoftAccount, account=current)
        raise failure
    return current


def _not_asked(account_id: int, failure: SignInFailure) -> NoReturn:
    """Microsoft gave no answer to the refresh (unreachable, timed out, discovery failed)."""
    reason = failure.reason or Reason.UNAVAILABLE
    TOKEN_REFRESHES.labels("unavailable").inc()
    log.warning("Refreshing Microsoft account %s failed: %s (%s)", account_id, reason, failure.detail)
    raise RefreshFailed(FAILURE_MESSAGES[reason].format(code=failure.detail), reason=reason,
                        host=failure.host) from None


def _check_usable(account: MicrosoftAccount) -> None:
    if account.status == Status.NEEDS_RECONSENT:
        raise RefreshFailed(account.last_error or "The member must reconnect.", reason=Reason.RECONSENT)
    if not account.refresh_token or account.status == Status.REVOKED:
        raise NotConnected("The member has no stored refresh token.")


def _unreadable_tokens(account_id: int, ms: MicrosoftSettings) -> NoReturn:
    """The account's tokens do not decrypt. When the client secret does not either, the key itself
    is wrong (restoring it mends everything): say so and change nothing. Otherwise these tokens
    were written with a key that is gone: the member must reconnect."""
    if not ms.secret_readable:
        raise RefreshFailed("Stored secrets cannot be decrypted with FIELD_ENCRYPTION_KEY.",
                            reason=Reason.ENCRYPTION_KEY)
    message = ("The stored Microsoft tokens cannot be decrypted with FIELD_ENCRYPTION_KEY (they were written "
               "with a key that is no longer configured): the member must reconnect.")
    marked = MicrosoftAccount.objects.filter(pk=account_id, status=Status.ACTIVE).update(
        status=Status.NEEDS_RECONSENT, last_error=message, updated_at=timezone.now())
    log.warning("Microsoft account %s has tokens that cannot be decrypted; it needs reconsent", account_id)
    if marked:
        account_needs_reconsent.send(sender=MicrosoftAccount, account=MicrosoftAccount.objects.get(pk=account_id))
    raise RefreshFailed(message, reason=Reason.RECONSENT)


def request_claims(claims_challenge: str | None) -> str:
    """The ``claims`` parameter of a token request: the challenge's claims (JSON) and our client
    capabilities (``xms_cc``), merged as MSAL merges them for its own requests."""
    try:
        claims = json.loads(claims_challenge) if claims_challenge else {}
    except ValueError:
        claims = {}
    if not isinstance(claims, dict):
        claims = {}
    if not isinstance(claims.get("access_token"), dict):
        claims["access_token"] = {}
    claims["access_token"]["xms_cc"] = {"values": CLIENT_CAPABILITIES}
    return json.dumps(claims, separators=(",", ":"))


FAILURE_MESSAGES = {
    Reason.RECONSENT: "Microsoft refused to renew the sign-in ({code}): the member must reconnect.",
    Reason.CLIENT_CREDENTIALS: "Microsoft rejected the site's client secret ({code}).",
    Reason.TENANT: "Microsoft does not know the tenant or the app there ({code}).",
    Reason.UNAVAILABLE: "Microsoft could not renew the sign-in ({code}); retry later.",
    Reason.TIMEOUT: "Microsoft did not answer in time ({code}); retry later.",
    Reason.ENCRYPTION_KEY: "Stored secrets cannot be decrypted with FIELD_ENCRYPTION_KEY ({code}).",
    Reason.ENDPOINT: "The Microsoft settings name a host that is not Microsoft's ({code}).",
    Reason.TLS: "The certificate of Microsoft's token endpoint did not verify ({code}).",
    Reason.DNS: "The host name of Microsoft's token endpoint does not resolve ({code}).",
}


# Why a member must sign in again when it is not about their grant (RECONSENT by another cause).
MFA_MESSAGE = ("Microsoft asks the member to sign in again ({code}: multi-factor authentication / Conditional "
               "Access): they must sign in with Microsoft again on their account page.")
BLOCKED_MESSAGE = ("A Conditional Access policy of the member's organisation blocks this sign-in ({code}): an "
                   "administrator of that organisation must allow it (Entra admin center → Conditional Access, "
                   "sign-in logs); then the member signs in again.")
DISABLED_MESSAGE = ("The member's Microsoft account is disabled or removed in their organisation ({code}): they "
                    "cannot sign in with Microsoft until it is re-enabled there.")


def _failure(result: dict[str, object]) -> RefreshFailed:
    codes = aadsts_codes(result)
    code = f"AADSTS{codes[0]}" if codes else ""
    reason = reason_from_aad(result)
    message = FAILURE_MESSAGES.get(reason, FAILURE_MESSAGES[Reason.UNAVAILABLE])
    known = aadsts_failure(result)
    if known == "conditional_access_blocked":
        message = BLOCKED_MESSAGE
    elif known == "account_disabled":
        message = DISABLED_MESSAGE
    elif known == "interaction_required" or (not codes and result.get("error") == "interaction_required"):
        message = MFA_MESSAGE
    return RefreshFailed(message.format(code=code or result.get("error") or "no code"), reason=reason,
                         aad_code=code)
