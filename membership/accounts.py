"""Members' Microsoft accounts: finding or creating the member, storing tokens, re-consent."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction
from django.utils import timezone

from membership.adapter import get_adapter, microsoft_email
from membership.failures import SignInFailure
from membership.models import MicrosoftAccount, MicrosoftSettings, SignInMode
from membership.scopes import OIDC_SCOPES, missing_scopes


@transaction.atomic
def link_member(
    claims: dict[str, Any],
    *,
    ms: MicrosoftSettings,
    mode: SignInMode | None,
    connect_to: AbstractBaseUser | None = None,
) -> MicrosoftAccount:
    """The account for (tid, oid), creating the member on first sign-in — never matched by e-mail.

    With ``connect_to`` (a signed-in member), the Microsoft identity is linked to that member; an
    identity already linked to someone else is refused. The site's adapter (MEMBERSHIP_ADAPTER) makes
    and names new members and keeps their e-mail in step with Microsoft's on every sign-in.
    """
    adapter = get_adapter()
    tid, oid = claims["tid"].lower(), claims["oid"].lower()
    upn = str(claims.get("preferred_username") or claims.get("upn") or "")
    display = str(claims.get("name") or upn)
    address = microsoft_email(claims)
    account = MicrosoftAccount.objects.select_for_update().filter(tenant_id=tid, object_id=oid).first()
    if account is not None:
        if connect_to is not None and account.user_id != connect_to.pk:
            raise SignInFailure("account_in_use", "identity linked to another member")
        user = account.user
    elif connect_to is not None:
        user = connect_to  # type: ignore[assignment]  # the configured user model
        account = MicrosoftAccount(user=user, tenant_id=tid, object_id=oid)  # type: ignore[misc]
    elif (joined := adapter.existing_user(claims)) is not None:
        user = joined  # type: ignore[assignment]
        account = MicrosoftAccount(user=user, tenant_id=tid, object_id=oid)  # type: ignore[misc]
    else:
        user = adapter.new_user(claims)  # type: ignore[assignment]
        role: Group | None = (mode.role if mode else None) or ms.default_role
        adapter.give_role(user, role)
        account = MicrosoftAccount(user=user, tenant_id=tid, object_id=oid)  # type: ignore[misc]
    if changed := adapter.populate_user(user, claims, previous_email=account.email):
        user.save(update_fields=changed)
    account.username = upn
    account.display_name = display
    account.email = address or account.email
    account.mode = mode.name if mode else ""
    return account


def store_tokens(account: MicrosoftAccount, result: dict[str, Any]) -> None:
    """Replace the stored tokens with a fresh token response (sign-in or refresh)."""
    now = timezone.now()
    account.access_token = result.get("access_token", "")
    expires_in = int(result.get("expires_in") or 0)
    account.access_token_expires_at = now + timedelta(seconds=expires_in) if account.access_token else None
    if result.get("refresh_token"):
        account.refresh_token = result["refresh_token"]
    granted = [s for s in str(result.get("scope", "")).split() if s.lower() not in OIDC_SCOPES]
    if granted:
        account.granted_scopes = " ".join(granted)
    account.last_refreshed_at = now
    account.status = MicrosoftAccount.Status.ACTIVE
    account.last_error = ""
    account.save()


def disconnect(account: MicrosoftAccount) -> None:
    """Forget the tokens; keep the (tid, oid) link so signing in again finds the same member."""
    # (django-stubs types the untyped encrypted field as the field class itself.)
    account.access_token = ""  # type: ignore[assignment]
    account.refresh_token = ""  # type: ignore[assignment]
    account.access_token_expires_at = None
    account.granted_scopes = ""
    account.status = MicrosoftAccount.Status.REVOKED
    account.save()


def required_scopes(ms: MicrosoftSettings, account: MicrosoftAccount) -> list[str]:
    try:
        mode = SignInMode.named(account.mode)
    except SignInFailure:
        mode = None  # the mode was removed: the defaults apply
    return ms.scopes_for(mode)


def mark_accounts_needing_reconsent(ms: MicrosoftSettings) -> int:
    """Accounts that lack a scope the settings now require become ``needs_reconsent``."""
    changed = 0
    active = MicrosoftAccount.objects.filter(status=MicrosoftAccount.Status.ACTIVE)
    for account in active.only("id", "mode", "granted_scopes", "status"):
        lacking = missing_scopes(account.granted_scopes, required_scopes(ms, account))
        if lacking:
            MicrosoftAccount.objects.filter(pk=account.pk).update(
                status=MicrosoftAccount.Status.NEEDS_RECONSENT,
                last_error=f"The site now asks for {' '.join(lacking)}: reconnect to grant it.",
            )
            changed += 1
    return changed
