"""Signals: settings changes mark accounts that lack newly required scopes."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import Signal, receiver

from membership.models import MicrosoftSettings, SignInMode

# Sent with ``account`` when a member's Microsoft account needs them to reconnect.
account_needs_reconsent = Signal()


@receiver(post_save, sender=MicrosoftSettings)
@receiver(post_save, sender=SignInMode)
@receiver(post_delete, sender=SignInMode)
def _scopes_may_have_changed(sender: type, **kwargs: Any) -> None:
    from membership.accounts import mark_accounts_needing_reconsent

    MicrosoftSettings.forget()
    ms = MicrosoftSettings.current()
    if ms.pk is not None:
        mark_accounts_needing_reconsent(ms)


@receiver(post_delete, sender=MicrosoftSettings)
def _settings_deleted(sender: type, **kwargs: Any) -> None:
    MicrosoftSettings.forget()


@receiver(account_needs_reconsent)
def _email_the_member(sender: type, account: Any, **kwargs: Any) -> None:
    """Tell the member, once (the signal fires when the account turns needs_reconsent)."""
    from django.core.mail import send_mail

    from membership.conf import conf

    email = account.user.email
    if not email:
        return
    link = conf.absolute_url(conf.account_url())
    send_mail(
        "Reconnect your Microsoft account",
        f"Hello {account.user.get_full_name() or account.user.get_username()},\n\n"
        f"Your Microsoft account {account.username} needs to be reconnected: Microsoft no longer accepts "
        f"this site's access for it.\n\nReconnect here: {link}\n",
        None,
        [email],
        fail_silently=True,
    )
