"""Members' Microsoft accounts: finding or creating the member, re-consent."""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction

from membership.failures import SignInFailure
from membership.models import MicrosoftAccount, MicrosoftSettings, SignInMode
from membership.scopes import missing_scopes

User = get_user_model()


def _free_username(wanted: str) -> str:
    base = re.sub(r"[^\w.@+-]", "", wanted)[:140] or "member"
    name, n = base, 1
    while User.objects.filter(username__iexact=name).exists():
        n += 1
        name = f"{base}-{n}"
    return name


def _split_name(claims: dict[str, Any]) -> tuple[str, str]:
    given, family = claims.get("given_name", ""), claims.get("family_name", "")
    if not (given or family) and claims.get("name"):
        given, _, family = str(claims["name"]).partition(" ")
    return str(given)[:150], str(family)[:150]


def microsoft_email(claims: dict[str, Any]) -> str:
    """The member's address: the `email` claim, else `preferred_username` when it is an address."""
    for claim in ("email", "preferred_username"):
        value = str(claims.get(claim) or "").strip()
        try:
            validate_email(value)
        except ValidationError:
            continue
        return value
    return ""


def _follow_email(user: Any, account: MicrosoftAccount, address: str) -> None:
    """Give the member Microsoft's address, unless they set another one here: only when theirs is
    empty or still the address Microsoft gave last time."""
    if not address or user.email == address:
        return
    if not user.email or user.email.lower() == account.email.lower():
        user.email = address
        user.save(update_fields=["email"])


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
    identity already linked to someone else is refused. The member's e-mail is filled from Microsoft's
    on every sign-in (see ``_follow_email``).
    """
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
    else:
        given, family = _split_name(claims)
        user = User.objects.create(
            username=_free_username(upn or oid), first_name=given, last_name=family, email=address,
        )
        user.set_unusable_password()
        user.save(update_fields=["password"])
        role: Group | None = (mode.role if mode else None) or ms.default_role
        if role is not None:
            user.groups.add(role)
        account = MicrosoftAccount(user=user, tenant_id=tid, object_id=oid)
    _follow_email(user, account, address)
    account.username = upn
    account.display_name = display
    account.email = address or account.email
    account.mode = mode.name if mode else ""
    return account


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
