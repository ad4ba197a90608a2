"""The token store: a valid access token for a member, refreshed once across all processes.

An access token is reused while it has more than REUSE_MARGIN left (MSAL itself treats tokens
with under 5 minutes left as expired). Otherwise the account is refreshed under a per-account
lock — a Redis lock when REDIS_URL is set (or a file lock) plus the row lock of
``select_for_update`` — and re-read after the lock is taken, so two processes never redeem the
same refresh token (Entra may rotate it, and a strict tenant kills the old one).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import requests
from django.db import transaction
from django.utils import timezone
from msal.exceptions import MsalServiceError

from membership.accounts import store_tokens
from membership.failures import aadsts_codes
from membership.identity import msal_app
from membership.locks import held
from membership.models import MicrosoftAccount, MicrosoftSettings
from membership.signals import account_needs_reconsent

log = logging.getLogger(__name__)

REUSE_MARGIN = timedelta(minutes=5)
RESERVED = {"openid", "profile", "offline_access", "email"}
# AADSTS codes that mean the grant is gone for good: the member must sign in again.
PERMANENT_AADSTS = {700082, 50173, 65001, 70000, 70008, 50076, 50079, 53003, 50133, 54005, 9002313, 700084}


class NotConnected(Exception):
    """The member has no usable Microsoft connection (never signed in, or disconnected)."""


class RefreshFailed(Exception):
    """Renewing the member's token failed. ``permanent``: they must reconnect."""

    def __init__(self, message: str, *, permanent: bool, aad_code: str = "") -> None:
        super().__init__(message)
        self.permanent = permanent
        self.aad_code = aad_code


def _fresh(account: MicrosoftAccount) -> bool:
    return bool(
        account.access_token
        and account.access_token_expires_at
        and account.access_token_expires_at - timezone.now() > REUSE_MARGIN
    )


def access_token(account: MicrosoftAccount) -> str:
    """A valid access token for ``account``, refreshing it if needed."""
    if account.status == MicrosoftAccount.Status.NEEDS_RECONSENT:
        raise RefreshFailed(account.last_error or "The member must reconnect.", permanent=True)
    if account.status == MicrosoftAccount.Status.REVOKED:
        raise NotConnected("The member disconnected their Microsoft account.")
    if _fresh(account):
        return account.access_token
    return refresh_account(account.pk).access_token


def refresh_account(account_id: int, *, renewed_before: datetime | None = None,
                    ms: MicrosoftSettings | None = None) -> MicrosoftAccount:
    """Redeem the account's refresh token (unless another process just did) and store the result.

    Without ``renewed_before`` it renews only a stale access token (a caller needs one). With it
    (the background sweep keeping refresh tokens alive), it renews an account last renewed
    before that time, whatever its access token — and skips one renewed since, so a redelivered
    sweep task redeems nothing twice. ``ms``: the settings, when the caller already has them.
    """
    ms = ms or MicrosoftSettings.load()
    failure: RefreshFailed | None = None
    with held(f"ms-account:{account_id}", timeout=60, wait=60), transaction.atomic():
        account = MicrosoftAccount.objects.select_for_update().get(pk=account_id)
        if account.status == MicrosoftAccount.Status.NEEDS_RECONSENT:
            raise RefreshFailed(account.last_error or "The member must reconnect.", permanent=True)
        if not account.refresh_token or account.status == MicrosoftAccount.Status.REVOKED:
            raise NotConnected("The member has no stored refresh token.")
        if renewed_before is None:
            if _fresh(account):
                return account  # another process renewed it while we waited for the lock
        elif account.last_refreshed_at and account.last_refreshed_at >= renewed_before:
            return account
        scopes = [s for s in account.granted_scopes.split() if s.lower() not in RESERVED] or ["User.Read"]
        try:
            result = msal_app(ms).acquire_token_by_refresh_token(account.refresh_token, scopes=scopes)
        except (requests.RequestException, MsalServiceError) as exc:
            # MsalServiceError: a 5xx from the token endpoint (MSAL then throttles for Retry-After).
            raise RefreshFailed(f"Microsoft could not be reached ({type(exc).__name__}).", permanent=False) from None
        if "error" in result:
            failure = _classify(result)
            if failure.permanent:
                account.status = MicrosoftAccount.Status.NEEDS_RECONSENT
                account.last_error = str(failure)
                account.save(update_fields=["status", "last_error", "updated_at"])
            else:
                MicrosoftAccount.objects.filter(pk=account.pk).update(last_error=str(failure))
        else:
            store_tokens(account, result)
    if failure is not None:
        log.warning("Refreshing Microsoft account %s failed: %s", account_id, failure.aad_code or "error")
        if failure.permanent:
            account_needs_reconsent.send(sender=MicrosoftAccount, account=account)
        raise failure
    return account


def _classify(result: dict[str, object]) -> RefreshFailed:
    codes = aadsts_codes(result)
    code = f"AADSTS{codes[0]}" if codes else ""
    if result.get("error") == "invalid_grant" or any(c in PERMANENT_AADSTS for c in codes):
        return RefreshFailed(
            f"Microsoft refused to renew the sign-in ({code or 'invalid_grant'}): the member must reconnect.",
            permanent=True, aad_code=code,
        )
    if result.get("error") == "invalid_client":
        return RefreshFailed(f"The site's client secret was rejected ({code}).", permanent=False, aad_code=code)
    return RefreshFailed(f"Microsoft could not renew the sign-in ({code or result.get('error')}).",
                         permanent=False, aad_code=code)
