"""Celery tasks of membership: the refresh sweep (scheduled by Celery beat)."""

from __future__ import annotations

from celery import shared_task

from membership.refresh import plan_sweep, run_batch


@shared_task(name="membership.sweep_refresh_tokens")
def sweep_refresh_tokens() -> dict[str, int]:
    """Plan a sweep and queue its batches; workers renew them in parallel."""
    sweep, batches = plan_sweep()
    for ids in batches:
        refresh_batch.delay(sweep.pk, ids)
    return {"sweep": sweep.pk, "due": sweep.due, "batches": len(batches)}


@shared_task(name="membership.refresh_batch", acks_late=True)
def refresh_batch(sweep_id: int, account_ids: list[int]) -> dict[str, int]:
    # acks_late: a worker killed mid-batch leaves it queued; renewing again is harmless, since
    # accounts renewed since the sweep began are skipped.
    return run_batch(sweep_id, account_ids)
