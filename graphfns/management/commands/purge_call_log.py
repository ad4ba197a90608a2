"""``python manage.py purge_call_log [--days N]``: delete Graph function call log entries past retention,
in batches (each its own transaction: interrupting it keeps what was deleted)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from graphfns.retention import purge, purge_summary, retention_days


class Command(BaseCommand):
    help = "Delete Graph function call log entries older than GRAPH_CALL_LOG_RETENTION_DAYS (or --days)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None,
                            help="Keep this many days instead of GRAPH_CALL_LOG_RETENTION_DAYS.")

    def handle(self, *args: Any, days: int | None = None, **options: Any) -> None:
        days = retention_days() if days is None else days
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        done = purge(days)
        self.stdout.write(purge_summary(done.deleted, days))
        if options.get("verbosity", 1) > 1:
            self.stdout.write(f"{done.batches} batches; the longest took {done.longest_batch * 1000:.0f} ms.")
