"""Daily call statistics: summed up from the raw rows (percentile_cont on PostgreSQL, Python on
SQLite), idempotent, sealed by the purge, kept by their own retention, and charted in the admin."""

from __future__ import annotations

import random
import re
import statistics
from collections import Counter
from datetime import date, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from graphfns.call_stats import day_of, day_start, days_to_sum_up, purge_stats, sum_up_day
from graphfns.models import DailyCallStats, FunctionCall
from graphfns.retention import purge

pytestmark = pytest.mark.django_db
STATS = "/admin/graphfns/dailycallstats/"
CODES = ["NotFound", "Throttled", "GraphError"]


def log_day(day: date, n: int, seed: int = 1) -> None:
    """``n`` calls spread over ``day``: three functions, about a fifth failing, assorted durations."""
    rng = random.Random(seed)
    start = day_start(day)
    rows = []
    for i in range(n):
        failed = rng.random() < 0.2
        rows.append(FunctionCall(
            created_at=start + timedelta(seconds=rng.randrange(86400)), caller="cli", mode="application",
            function=rng.choice(["users.get", "calendar.list_events", "users.list"]),
            status="error" if failed else "ok", error_code=rng.choice(CODES) if failed else "",
            duration_ms=rng.randrange(5, 3000), graph_requests=rng.randrange(0, 4), request_id=f"r{i}"))
    FunctionCall.objects.bulk_create(rows)


def expected(day: date) -> dict[str, dict[str, Any]]:
    """The day's numbers computed here from the raw rows, the slow obvious way."""
    start = day_start(day)
    out: dict[str, dict[str, Any]] = {}
    calls = FunctionCall.objects.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1))
    for function in {c.function for c in calls}:
        mine = [c for c in calls if c.function == function]
        cuts = statistics.quantiles([c.duration_ms for c in mine], n=100, method="inclusive")
        out[function] = {
            "calls": len(mine), "errors": sum(c.status == "error" for c in mine),
            "errors_by_code": dict(Counter(c.error_code for c in mine if c.status == "error")),
            "p50_ms": pytest.approx(cuts[49]), "p95_ms": pytest.approx(cuts[94]),
            "graph_requests": sum(c.graph_requests for c in mine),
        }
    return out


def stored(day: date) -> dict[str, dict[str, Any]]:
    return {s.function: {"calls": s.calls, "errors": s.errors, "errors_by_code": s.errors_by_code, "p50_ms": s.p50_ms,
                         "p95_ms": s.p95_ms, "graph_requests": s.graph_requests}
            for s in DailyCallStats.objects.filter(day=day)}


def test_a_day_summed_up_matches_its_raw_rows_and_again_gives_the_same() -> None:
    day = day_of(timezone.now()) - timedelta(days=3)
    log_day(day, 400)
    log_day(day - timedelta(days=1), 50, seed=2)  # the neighbours are not counted in
    log_day(day + timedelta(days=1), 50, seed=3)
    assert sum_up_day(day)
    first = stored(day)
    assert first == expected(day)
    assert sum(s["calls"] for s in first.values()) == 400
    assert sum_up_day(day)
    assert stored(day) == first
    assert DailyCallStats.objects.filter(day=day).count() == 3


def test_the_purge_sums_up_a_day_before_deleting_from_it_and_then_leaves_it_alone() -> None:
    now = timezone.now()
    old = day_of(now) - timedelta(days=40)
    log_day(old, 120)
    wanted = expected(old)
    done = purge(30, pause=0)
    assert done.deleted == 120
    assert stored(old) == wanted
    assert all(DailyCallStats.objects.filter(day=old).values_list("sealed", flat=True))
    assert not sum_up_day(old)  # its raw rows are gone: summing up now would lose them
    assert stored(old) == wanted


def test_today_is_summed_up_each_run_and_an_ended_day_once_after_it_ended() -> None:
    today = day_of(timezone.now())
    yesterday = today - timedelta(days=1)
    log_day(yesterday, 10)
    log_day(today, 10)
    assert days_to_sum_up() == [yesterday, today]
    for day in (yesterday, today):
        sum_up_day(day)
    assert days_to_sum_up() == [today]
    # Summed up before it ended (write-behind entries may still come): done again.
    DailyCallStats.objects.filter(day=yesterday).update(computed_at=day_start(yesterday) + timedelta(hours=23))
    assert days_to_sum_up() == [yesterday, today]


def test_statistics_outlive_the_log_until_their_own_retention(settings: Any) -> None:
    settings.GRAPH_CALL_STATS_RETENTION_DAYS = 400
    today = day_of(timezone.now())
    for age in (10, 399, 401):
        DailyCallStats.objects.create(day=today - timedelta(days=age), function="users.get", calls=1)
    assert purge_stats() == 1
    assert sorted((today - d).days for d in DailyCallStats.objects.values_list("day", flat=True)) == [10, 399]


def test_the_statistics_page_charts_calls_and_error_rate_per_day_per_function(admin_client: Client) -> None:
    today = day_of(timezone.now())
    days = [today - timedelta(days=2), today - timedelta(days=1)]
    for i, day in enumerate(days):
        log_day(day, 60 + 40 * i, seed=i)
        sum_up_day(day)
    response = admin_client.get(STATS)
    html = response.content.decode()
    charts = response.context["trend_charts"]
    assert charts[0].function == "All functions"
    assert {c.function for c in charts[1:]} == {"users.get", "calendar.list_events", "users.list"}
    assert html.count("<svg viewBox=") == 4
    assert "<script" not in html.split('id="changelist"')[1]
    # Each bar says its day's numbers, and they are the raw rows' numbers.
    for day in days:
        start = day_start(day)
        raw = FunctionCall.objects.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1))
        calls, errors = raw.count(), raw.filter(status="error").count()
        assert f"<title>{day}: {calls} calls, {errors} errors ({errors / calls:.1%})</title>" in html
        users_get = raw.filter(function="users.get")
        assert (f"<title>{day}: {users_get.count()} calls, {users_get.filter(status='error').count()} errors"
                in html)
    # Taller bar for the busier day; an empty day draws no bar; 30 days in all.
    bars = charts[0].bars
    assert len(bars) == 30
    assert bars[-2].height > bars[-3].height > 0 == bars[-1].height == bars[0].height
    heights = [float(h) for h in re.findall(r'<rect class="calls" [^>]*height="([\d.]+)"', html)]
    assert len(heights) == 4 * 30
    narrowed = admin_client.get(STATS, {"function": "users.get"})
    assert [c.function for c in narrowed.context["trend_charts"]] == ["users.get"]
