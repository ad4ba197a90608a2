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

    ms = MicrosoftSettings.objects.filter(pk=1).first()
    if ms is not None:
        mark_accounts_needing_reconsent(ms)
