"""The refresh sweep: keep members' refresh tokens alive while they are away.

Entra expires a refresh token unused for 90 days. The sweep renews accounts whose token was last
renewed more than MICROSOFT_REFRESH_AFTER_DAYS ago, in batches that workers run in parallel.
Each renewal goes through the token store's per-account lock, so the sweep, web processes and
other workers never redeem one refresh token twice.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db.models import F, Q, QuerySet
from django.utils import timezone

from membership.conf import conf
from membership.failures import Reason
from membership.metrics import SWEEP_ACCOUNTS, SWEEP_BATCHES
from membership.models import MicrosoftAccount, MicrosoftSettings, RefreshSweep
from membership.tokens import NotConnected, RefreshFailed, refresh_account

log = logging.getLogger(__name__)


def due_accounts(renewed_before: datetime) -> QuerySet[MicrosoftAccount]:
    return (
        MicrosoftAccount.objects.filter(status=MicrosoftAccount.Status.ACTIVE, user__is_active=True)
        .exclude(refresh_token="")
        .filter(Q(last_refreshed_at__lt=renewed_before) | Q(last_refreshed_at__isnull=True))
    )


DISABLED_NOTE = "Microsoft sign-in is switched off: no refresh token was redeemed."


def plan_sweep() -> tuple[RefreshSweep, list[list[int]]]:
    """Record a new sweep and split the due accounts into batches of ids.

    With Microsoft sign-in switched off the sweep renews nothing, and its record says why.
    """
    days = conf.MICROSOFT_REFRESH_AFTER_DAYS
    size = conf.MICROSOFT_REFRESH_BATCH_SIZE
    cutoff = timezone.now() - timedelta(days=days)
    if not MicrosoftSettings.current().enabled:
        sweep = RefreshSweep.objects.create(renewed_before=cutoff, finished_at=timezone.now(), note=DISABLED_NOTE)
        return sweep, []
    ids = list(due_accounts(cutoff).order_by("pk").values_list("pk", flat=True))
    batches = [ids[i:i + size] for i in range(0, len(ids), size)]
    sweep = RefreshSweep.objects.create(renewed_before=cutoff, due=len(ids), batches=len(batches),
                                        finished_at=None if batches else timezone.now())
    return sweep, batches


def run_batch(sweep_id: int, account_ids: list[int]) -> dict[str, int]:
    """Renew one batch; add its counts to the sweep. Safe to run again (redelivery).

    A batch always finishes: each account is renewed on its own, and whatever goes wrong with one
    (an outage, a bug) is logged with its id and counted as failed; the next sweep retries it.
    """
    sweep = RefreshSweep.objects.get(pk=sweep_id)
    ms = MicrosoftSettings.current()  # once per batch, not once per account
    counts = {"refreshed": 0, "failed": 0, "needs_reconsent": 0}
    note = ""
    if not ms.enabled:  # switched off after the sweep was planned
        note = DISABLED_NOTE
        account_ids = []
    for account_id in account_ids:
        try:
            account = refresh_account(account_id, renewed_before=sweep.renewed_before, ms=ms)
        except RefreshFailed as exc:
            counts["needs_reconsent" if exc.permanent else "failed"] += 1
            if exc.reason is Reason.ENCRYPTION_KEY:
                note = "Stored secrets cannot be decrypted with FIELD_ENCRYPTION_KEY: restore the key."
        except (NotConnected, MicrosoftAccount.DoesNotExist):
            pass  # disconnected or deleted since the sweep was planned
        except Exception:
            log.exception("Refresh sweep %s: renewing Microsoft account %s failed", sweep_id, account_id)
            counts["failed"] += 1
        else:
            if account.last_refreshed_at and account.last_refreshed_at >= sweep.renewed_before:
                counts["refreshed"] += 1
    for outcome, count in counts.items():
        SWEEP_ACCOUNTS.labels(outcome).inc(count)
    SWEEP_BATCHES.inc()
    RefreshSweep.objects.filter(pk=sweep_id).update(
        refreshed=F("refreshed") + counts["refreshed"], failed=F("failed") + counts["failed"],
        needs_reconsent=F("needs_reconsent") + counts["needs_reconsent"], batches_done=F("batches_done") + 1,
    )
    if note:
        RefreshSweep.objects.filter(pk=sweep_id).update(note=note)
    RefreshSweep.objects.filter(pk=sweep_id, batches_done__gte=F("batches"), finished_at__isnull=True).update(
        finished_at=timezone.now()
    )
    return counts
