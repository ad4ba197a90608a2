"""Members follow the directory: profile updates, deactivation and reactivation decided by Entra.

The directory sync (graphfns.directory, which reads Microsoft Graph as the application) finds
what changed; these functions carry it out on the member, each in one short transaction:

* ``update_profile``: names, e-mail (the e-mail rule of sign-in: the member's address follows
  Microsoft's unless they changed it here) and job title;
* ``deactivate``: a member disabled or deleted in Entra gets ``is_active`` off, their Microsoft
  tokens are deleted (the account marked revoked, with the reason), ``member_deactivated`` is sent;
* ``reactivate``: when their Entra account is enabled or restored, only with the setting
  "Reactivate members enabled again in Entra" on, and only members the sync itself deactivated.

Looking up names in the directory (the role mapping admin shows a group's display name) needs an
application token, which graphfns holds: it registers a ``DirectoryReader`` when it starts
(``use_reader``); without one the names are simply not looked up.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from django.db import transaction
from django.utils import timezone

from membership.adapter import get_adapter, microsoft_email
from membership.models import MicrosoftAccount, MicrosoftSettings
from membership.signals import member_deactivated, member_reactivated

log = logging.getLogger(__name__)

REASONS = {
    MicrosoftAccount.Left.DISABLED: "The account was disabled in Microsoft Entra (sign-in blocked).",
    MicrosoftAccount.Left.DELETED: "The account was deleted in Microsoft Entra.",
}


class DirectoryReader(Protocol):
    def group_name(self, group_id: str) -> str:
        """The display name of an Entra group; raises any exception when it cannot be read."""


_reader: list[DirectoryReader] = []


def use_reader(reader: DirectoryReader) -> None:
    _reader[:] = [reader]


def group_name(group_id: str) -> str:
    """The group's display name, or "" when there is no reader or the directory did not answer."""
    if not _reader:
        return ""
    try:
        return _reader[0].group_name(group_id)
    except Exception as exc:  # a lookup for readability only: never in the way of saving
        log.warning("Looking up the name of Entra group %s failed (%s)", group_id, type(exc).__name__)
        return ""


def update_profile(account: MicrosoftAccount, user: dict[str, Any]) -> bool:
    """Apply a directory user's names, e-mail and job title (only those present); True when something changed."""
    with transaction.atomic():
        account = MicrosoftAccount.objects.select_for_update().select_related("user").get(pk=account.pk)
        member = account.user
        changed_member = get_adapter().update_from_directory(member, user, previous_email=account.email)
        if changed_member:
            member.save(update_fields=changed_member)
        changed_account: list[str] = []
        if "mail" in user or "userPrincipalName" in user:
            address = microsoft_email({"email": user.get("mail"), "preferred_username": user.get("userPrincipalName")})
            if address and address != account.email:
                account.email = address
                changed_account.append("email")
        for prop, attr in (("displayName", "display_name"), ("userPrincipalName", "username"),
                           ("jobTitle", "job_title")):
            if prop in user:
                value = str(user[prop] or "")[:255]
                if getattr(account, attr) != value:
                    setattr(account, attr, value)
                    changed_account.append(attr)
        if changed_account:
            account.save(update_fields=[*changed_account, "updated_at"])
    return bool(changed_member or changed_account)


def deactivate(account: MicrosoftAccount, why: MicrosoftAccount.Left) -> bool:
    """The member left (disabled or deleted in Entra): deactivate them and delete their Microsoft tokens.

    True when this deactivated them (False: already deactivated for the same reason)."""
    reason = REASONS[why]
    with transaction.atomic():
        account = MicrosoftAccount.objects.select_for_update().select_related("user").get(pk=account.pk)
        member = account.user
        if account.left_directory == why and not member.is_active:
            return False
        was_active = member.is_active
        if member.is_active:
            member.is_active = False
            member.save(update_fields=["is_active"])
        account.revoke_tokens()
        account.last_error = reason
        account.left_directory = why
        account.left_directory_at = timezone.now()
        account.save()
        if was_active:
            transaction.on_commit(lambda: member_deactivated.send(MicrosoftAccount, account=account, reason=reason,
                                                                  why=str(why)))
    log.info("Member %s deactivated: %s", account.user_id, why)
    return was_active


def reactivate(account: MicrosoftAccount) -> bool:
    """The member is enabled (or restored) in Entra again: reactivate them when the settings say so and the
    sync had deactivated them. They sign in again to reconnect (their tokens are gone). True when reactivated."""
    if not MicrosoftSettings.current().reactivate_returning_members:
        return False
    with transaction.atomic():
        account = MicrosoftAccount.objects.select_for_update().select_related("user").get(pk=account.pk)
        if not account.left_directory:
            return False  # deactivated by an administrator, or never: not the sync's to undo
        member = account.user
        member.is_active = True
        member.save(update_fields=["is_active"])
        account.left_directory = ""
        account.left_directory_at = None
        account.last_error = "Enabled again in Microsoft Entra: the member signs in to reconnect."
        account.save(update_fields=["left_directory", "left_directory_at", "last_error", "updated_at"])
        transaction.on_commit(lambda: member_reactivated.send(MicrosoftAccount, account=account))
    log.info("Member %s reactivated: enabled again in Entra", account.user_id)
    return True
