"""The Django settings graphfns reads, each with its default, in one place (``conf.NAME``).

The timeouts, CA bundle and allowed hosts for Microsoft are membership's (membership/conf.py):
graphfns talks to Microsoft through membership's session.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from membership.conf import Setting


class GraphSettings:
    MICROSOFT_GRAPH_DEADLINE: Setting[float] = Setting(
        "MICROSOFT_GRAPH_DEADLINE", 45.0, "Seconds one Graph function may spend on Graph in all, retries and "
        "waits for answers included.", float)
    GRAPH_API_KEY_CACHE_SECONDS: Setting[float] = Setting(
        "GRAPH_API_KEY_CACHE_SECONDS", 5.0, "API keys found valid are trusted this many seconds per process "
        "(a key revoked in another process is refused within this window).", float)
    GRAPH_CALL_LOG_WRITE_BEHIND: Setting[bool] = Setting(
        "GRAPH_CALL_LOG_WRITE_BEHIND", True, "Call-log rows are written by a background thread in batches "
        "(off: one INSERT per call).", bool)
    GRAPH_CALL_LOG_RETENTION_DAYS: Setting[int] = Setting(
        "GRAPH_CALL_LOG_RETENTION_DAYS", 30, "Days the function call log is kept (`purge_call_log`, the hourly "
        "task, the admin's purge button).", int)
    GRAPH_CALL_LOG_PURGE_BATCH_SIZE: Setting[int] = Setting(
        "GRAPH_CALL_LOG_PURGE_BATCH_SIZE", 10_000, "Rows the purge deletes per transaction.", int)
    GRAPH_CALL_LOG_PURGE_PAUSE: Setting[float] = Setting(
        "GRAPH_CALL_LOG_PURGE_PAUSE", 0.1, "Seconds the purge pauses between batches.", float)
    GRAPH_CALL_STATS_RETENTION_DAYS: Setting[int] = Setting(
        "GRAPH_CALL_STATS_RETENTION_DAYS", 400, "Days the daily call statistics are kept.", int)
    GRAPH_DOCS_DIR: Setting[Path | None] = Setting(
        "GRAPH_DOCS_DIR", None, "Where `manage.py graph catalog --write/--check` finds the documents with "
        "generated tables; unset: `BASE_DIR/docs`.", lambda v: Path(v) if v else None)

    def docs_dir(self) -> Path:
        return self.GRAPH_DOCS_DIR or Path(getattr(settings, "BASE_DIR", ".")) / "docs"


conf = GraphSettings()
