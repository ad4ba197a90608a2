"""How long the function call log is kept, and the purge that enforces it."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from graphfns.models import FunctionCall


def retention_days() -> int:
    """GRAPH_CALL_LOG_RETENTION_DAYS (default 30)."""
    return int(getattr(settings, "GRAPH_CALL_LOG_RETENTION_DAYS", 30))


def purge_call_log(days: int | None = None, now: datetime | None = None) -> int:
    """Delete call log entries older than ``days`` (default: the retention setting); return how many."""
    days = retention_days() if days is None else days
    if days < 0:
        raise ValueError("days must be 0 or more")
    cutoff = (now or timezone.now()) - timedelta(days=days)
    deleted, _ = FunctionCall.objects.filter(created_at__lt=cutoff).delete()
    return deleted


def purge_summary(deleted: int, days: int) -> str:
    entries = "entry" if deleted == 1 else "entries"
    return f"Deleted {deleted} call log {entries} older than {days} day{'' if days == 1 else 's'}."
