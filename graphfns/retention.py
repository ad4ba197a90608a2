"""How long the function call log is kept, and the purge that enforces it.

The purge deletes in batches of GRAPH_CALL_LOG_PURGE_BATCH_SIZE rows, oldest first, each batch its
own short transaction, pausing GRAPH_CALL_LOG_PURGE_PAUSE seconds between batches so inserts and
replicas keep up. Stopped at any point, what was deleted stays deleted and the rest waits for the
next run. Before deleting from a day it sums the day up (graphfns.call_stats) and seals it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from graphfns.call_stats import day_of, seal_day, sum_up_day
from graphfns.conf import conf
from graphfns.models import FunctionCall

log = logging.getLogger(__name__)


def retention_days() -> int:
    """GRAPH_CALL_LOG_RETENTION_DAYS (default 30)."""
    return conf.GRAPH_CALL_LOG_RETENTION_DAYS


def batch_size() -> int:
    """GRAPH_CALL_LOG_PURGE_BATCH_SIZE (default 10,000): rows deleted per transaction."""
    return conf.GRAPH_CALL_LOG_PURGE_BATCH_SIZE


def pause_seconds() -> float:
    """GRAPH_CALL_LOG_PURGE_PAUSE (default 0.1): seconds between batches."""
    return conf.GRAPH_CALL_LOG_PURGE_PAUSE


@dataclass
class Purge:
    """What a purge did."""

    days: int
    deleted: int = 0
    batches: int = 0
    longest_batch: float = 0.0  # seconds: the longest delete transaction
    finished: bool = True  # False: stopped at its time budget, older entries remain


def purge(days: int | None = None, now: datetime | None = None, *, budget: float | None = None,
          batch: int | None = None, pause: float | None = None) -> Purge:
    """Delete call log entries older than ``days`` (default: the retention setting) in batches.

    ``budget``: stop starting new batches after this many seconds (the rest is left for the next run);
    the first batch always runs, so every run makes progress.
    """
    days = retention_days() if days is None else days
    if days < 0:
        raise ValueError("days must be 0 or more")
    batch = batch or batch_size()
    pause = pause_seconds() if pause is None else pause
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deadline = None if budget is None else time.monotonic() + budget
    result = Purge(days=days)
    oldest = FunctionCall.objects.filter(created_at__lt=cutoff).order_by("created_at").values_list(
        "created_at", flat=True).first()
    if oldest is None:
        return result
    day, last = day_of(oldest), day_of(cutoff)
    while day <= last:  # their statistics first, while their raw rows are complete
        sum_up_day(day)
        seal_day(day)
        day += timedelta(days=1)
    while True:
        # Past the budget no further batch starts, but one always runs: a run whose statistics step
        # used up the budget still makes progress.
        if deadline is not None and result.batches and time.monotonic() > deadline:
            result.finished = False
            log.info("Call log purge stopped at its time budget after %d entries; older entries remain.",
                     result.deleted)
            break
        started = time.perf_counter()
        with transaction.atomic():
            oldest_rows = FunctionCall.objects.filter(created_at__lt=cutoff).order_by("created_at").values("pk")
            deleted, _ = FunctionCall.objects.filter(pk__in=oldest_rows[:batch]).delete()
        elapsed = time.perf_counter() - started
        result.batches += 1
        result.deleted += deleted
        result.longest_batch = max(result.longest_batch, elapsed)
        log.info("Call log purge: batch %d deleted %d entries in %.0f ms (%d so far).", result.batches, deleted,
                 elapsed * 1000, result.deleted)
        if deleted < batch:
            break
        time.sleep(pause)
    return result


def purge_call_log(days: int | None = None, now: datetime | None = None) -> int:
    """Delete call log entries older than ``days`` (default: the retention setting); return how many."""
    return purge(days, now).deleted


def purge_summary(deleted: int, days: int) -> str:
    entries = "entry" if deleted == 1 else "entries"
    return f"Deleted {deleted} call log {entries} older than {days} day{'' if days == 1 else 's'}."
