"""``python manage.py purge_call_log [--days N]``: delete Graph function call log entries past retention."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from graphfns.retention import purge_call_log, purge_summary, retention_days


class Command(BaseCommand):
    help = "Delete Graph function call log entries older than GRAPH_CALL_LOG_RETENTION_DAYS (or --days)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=None,
                            help="Keep this many days instead of GRAPH_CALL_LOG_RETENTION_DAYS.")

    def handle(self, *args: Any, days: int | None = None, **options: Any) -> None:
        days = retention_days() if days is None else days
        if days < 0:
            raise CommandError("--days must be 0 or more.")
        deleted = purge_call_log(days)
        self.stdout.write(purge_summary(deleted, days))
