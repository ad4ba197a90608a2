"""Call log admin benchmark (a measurement, not a test): `make bench` runs it.

In one run, on PostgreSQL: the admin's call log list page, with each filter and each kind of search,
over the newest 1,000 rows; then the same pages after the table has grown (to --rows, 10,000,000 by
default, generated with INSERT … SELECT generate_series, stopping early at --fill-seconds and saying
so); the ratio big/small per page is the figure (the target: at most 1.5). Then the purge of the
oldest day's rows: rows deleted, batches, the longest batch transaction. Pages are timed at 10 and
100 rows a page (PAGE_SIZES). For context, the exact
COUNT(*) the page no longer runs.

Database: BENCH_DATABASE_URL (PostgreSQL; default postgres://postgres@127.0.0.1:5432/membership_calllog_bench,
dropped and created afresh). Usage: ``.venv/bin/python bench/call_log_admin.py [--rows 10000000]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DAYS = 31  # rows spread over 31 days: a 30-day retention purges the oldest day
CHUNK = 500_000
# 10 rows a page: every filter fills its page over 1,000 rows too, so both sizes render the same rows
# and the ratio is the table's size alone; 100 (the admin's default) as the product shows it, where a
# filter matching fewer than 100 of the 1,000 rows renders fewer rows in the small run.
PAGE_SIZES = (10, 100)


def environment(var: Path, url: str) -> None:
    from cryptography.fernet import Fernet

    os.environ.update({
        "READ_DOT_ENV": "false", "DEBUG": "true", "VAR_DIR": str(var), "LOG_LEVEL": "WARNING",
        "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(), "DJANGO_SETTINGS_MODULE": "project.settings",
        "DATABASE_URL": url, "GRAPH_CALL_LOG_WRITE_BEHIND": "false", "ALLOWED_HOSTS": "testserver",
    })


def fresh_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin_url = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def fill(first: int, last: int, seconds_per_row: float, functions: list[str]) -> None:
    """Rows ``first``..``last``: row g is g × seconds_per_row old, so the table grows into the past."""
    from django.db import connection

    sql = """
        INSERT INTO graphfns_functioncall (created_at, function, caller, mode, status, error_code, duration_ms,
                                           graph_requests, request_id, acting_user_id)
        SELECT now() - make_interval(secs => g * %(step)s),
               (%(functions)s::text[])[1 + g %% %(nfunctions)s],
               (ARRAY['api-key:sync', 'api-key:intranet', 'cli', 'task', 'admin:ann'])[1 + (g / 7) %% 5],
               CASE WHEN g %% 3 = 0 THEN 'delegated' ELSE 'application' END,
               CASE WHEN g %% 20 = 0 THEN 'error' ELSE 'ok' END,
               CASE WHEN g %% 20 = 0 THEN (ARRAY['NotFound', 'Throttled', 'GraphError'])[1 + (g / 20) %% 3]
                    ELSE '' END,
               (g::bigint * 7919) %% 2000, 1 + g %% 3, md5(g::text), NULL
        FROM generate_series(%(first)s, %(last)s) AS g
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, {"step": seconds_per_row, "functions": functions, "nfunctions": len(functions),
                             "first": first, "last": last})


def timed(run: Callable[[], Any], repeat: int) -> float:
    """Median milliseconds of ``repeat`` runs, after one warm-up."""
    run()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--small", type=int, default=1_000)
    parser.add_argument("--fill-seconds", type=float, default=180.0, help="stop growing the table after this")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/membership_calllog_bench"
    if not url.startswith("postgres"):
        sys.exit("BENCH_DATABASE_URL must name a PostgreSQL database: the large-table figures are PostgreSQL's.")
    environment(Path(tempfile.mkdtemp(prefix="call-log-bench-")), url)
    fresh_database(url)

    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from graphfns.admin import FunctionCallAdmin
    from graphfns.models import FunctionCall
    from graphfns.registry import load
    from graphfns.retention import purge

    call_command("migrate", verbosity=0)
    admin = User.objects.create_superuser("bench-admin", "admin@example.test", "unused-password-123")
    client = Client()
    client.force_login(admin)
    functions = sorted(load())
    step = DAYS * 86400 / args.rows
    fill(1, args.small, step, functions)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE graphfns_functioncall")
    probe = FunctionCall.objects.order_by("-created_at").values_list("request_id", flat=True).first()
    pages = {
        "list": {}, "status=error": {"status__exact": "error"}, f"function={functions[0]}": {"function": functions[0]},
        "error_code=NotFound": {"error_code": "NotFound"}, "mode=delegated": {"mode": "delegated"},
        "created_at past 7 days": {"created_at__gte": "2000-01-01"},  # replaced below, after the fill
        f"q={functions[0]} (function)": {"q": functions[0]}, "q=sync (caller)": {"q": "sync"},
        "q=<request id>": {"q": probe or ""}, "page 2": {"p": "2"},
    }

    def measure() -> dict[str, float]:
        from django.utils import timezone

        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        pages["created_at past 7 days"] = {"created_at__gte": str(today - timedelta(days=7)),
                                           "created_at__lt": str(today + timedelta(days=1))}
        out = {}
        for per_page in PAGE_SIZES:
            FunctionCallAdmin.list_per_page = per_page
            for label, query in pages.items():
                def get(query: dict[str, str] = query) -> None:
                    response = client.get("/admin/graphfns/functioncall/", query)
                    assert response.status_code == 200, response.status_code
                out[f"{label} [{per_page}/page]"] = timed(get, args.repeat)
        return out

    small = measure()

    # Grow the table into the past, in chunks, until --rows or --fill-seconds.
    fill_started = time.perf_counter()
    rows = args.small
    while rows < args.rows and time.perf_counter() - fill_started < args.fill_seconds:
        last = min(args.rows, rows + CHUNK)
        fill(rows + 1, last, step, functions)
        rows = last
    fill_seconds = time.perf_counter() - fill_started
    vacuum_started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE graphfns_functioncall")
    vacuum_seconds = time.perf_counter() - vacuum_started

    large = measure()
    exact_count = timed(lambda: FunctionCall.objects.count(), 1)

    # The purge of the oldest day's rows (a 30-day retention), its statistics summed up first.
    span_days = rows * step / 86400
    keep_days = max(0, math.floor(span_days - 1))
    before = rows
    purge_started = time.perf_counter()
    done = purge(keep_days)
    purge_seconds = time.perf_counter() - purge_started

    figures = {
        "benchmark": "call_log_admin",
        "rows_small": args.small,
        "rows_large": rows,
        "rows_requested": args.rows,
        "rows_spread_over_days": round(span_days, 2),
        "fill_seconds": round(fill_seconds, 1),
        "fill_stopped_early": rows < args.rows,
        "vacuum_analyze_seconds": round(vacuum_seconds, 1),
        "pages_ms_small": {k: round(v, 1) for k, v in small.items()},
        "pages_ms_large": {k: round(v, 1) for k, v in large.items()},
        "ratio_large_to_small": {k: round(large[k] / small[k], 2) for k in small},
        **{f"worst_ratio_{n}_per_page": round(max(large[k] / small[k] for k in small if k.endswith(f"[{n}/page]")), 2)
           for n in PAGE_SIZES},
        "target_ratio": 1.5,
        "exact_count_ms_large_for_context": round(exact_count, 1),
        "purge": {
            "keep_days": keep_days, "rows_before": before, "deleted": done.deleted, "batches": done.batches,
            "longest_batch_ms": round(done.longest_batch * 1000, 1), "seconds_with_pauses_and_sum_up":
            round(purge_seconds, 1), "finished": done.finished,
        },
    }
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
