"""Real Celery worker processes for the tests that need them, on this run's database."""

from __future__ import annotations

from scripts.workers import Workers

__all__ = ["Workers", "database_url"]


def database_url() -> str:
    """The URL of the database this test run uses (the test database), for worker processes."""
    from django.db import connection

    s = connection.settings_dict
    if s["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def empty_queue() -> None:
    """Drop every task waiting in the broker's queues."""
    from project.celery import app

    app.control.purge()
