"""Daily statistics of the call log: per function and UTC day, the calls, errors by catalog code,
p50/p95 duration and Graph requests, kept for GRAPH_CALL_STATS_RETENTION_DAYS, long after the raw
rows are purged; and the trend charts the admin draws from them.

A day is summed up from its raw rows, replacing what was there, so summing it up again gives the
same numbers. It is summed up again while it may still change (today, and a day last summed up
before it ended); the purge sums up a day one last time before it first deletes from it and then
seals it, since from then on its raw rows are incomplete.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connections, transaction
from django.db.models import Aggregate, Count, FloatField, Min, Q, Sum
from django.utils import timezone

from graphfns.conf import conf
from graphfns.models import DailyCallStats, FunctionCall

# Entries are written behind (graphfns.call_log): a day summed up this long after it ended is final.
SETTLE = timedelta(minutes=5)


def stats_retention_days() -> int:
    """GRAPH_CALL_STATS_RETENTION_DAYS (default 400)."""
    return conf.GRAPH_CALL_STATS_RETENTION_DAYS


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


class PercentileCont(Aggregate):
    """PostgreSQL's ``percentile_cont(fraction) WITHIN GROUP (ORDER BY expression)``."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression: str, fraction: float) -> None:
        super().__init__(expression, fraction=float(fraction))


def percentile(ordered: list[int], fraction: float) -> float:
    """``percentile_cont`` in Python: linear interpolation between the closest ranks of sorted values."""
    if not ordered:
        return 0.0
    position = fraction * (len(ordered) - 1)
    lower = int(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def summarize(day: date) -> list[DailyCallStats]:
    """The day's statistics, one unsaved row per function that was called, from the raw rows."""
    start = day_start(day)
    rows = FunctionCall.objects.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1))
    on_postgres = connections[rows.db].vendor == "postgresql"
    percentiles = {"p50": PercentileCont("duration_ms", 0.5), "p95": PercentileCont("duration_ms", 0.95)}
    grouped = rows.values("function").order_by("function").annotate(
        n=Count("pk"), failed=Count("pk", filter=Q(status=FunctionCall.Status.ERROR)), requests=Sum("graph_requests"),
        **(percentiles if on_postgres else {}),
    )
    codes: dict[str, dict[str, int]] = defaultdict(dict)
    for failures in (rows.filter(status=FunctionCall.Status.ERROR).values("function", "error_code")
                     .order_by("function", "error_code").annotate(n=Count("pk"))):
        codes[failures["function"]][failures["error_code"] or "Unknown"] = failures["n"]
    durations: dict[str, list[int]] = defaultdict(list)
    if not on_postgres:  # SQLite has no percentile_cont: small sites, sorted here
        for function, duration in rows.order_by("function", "duration_ms").values_list("function", "duration_ms"):
            durations[function].append(duration)
    out = []
    for entry in grouped:
        function = entry["function"]
        found: dict[str, Any] = dict(entry)  # the percentiles are there on PostgreSQL only
        p50 = found["p50"] if on_postgres else percentile(durations[function], 0.5)
        p95 = found["p95"] if on_postgres else percentile(durations[function], 0.95)
        out.append(DailyCallStats(day=day, function=function, calls=entry["n"], errors=entry["failed"],
                                  errors_by_code=codes.get(function, {}), p50_ms=p50 or 0.0, p95_ms=p95 or 0.0,
                                  graph_requests=entry["requests"] or 0))
    return out


def sum_up_day(day: date) -> bool:
    """Replace the day's statistics with its raw rows' (no-op once sealed); whether it was summed up."""
    if DailyCallStats.objects.filter(day=day, sealed=True).exists():
        return False
    summary = summarize(day)  # the long read, outside the transaction
    now = timezone.now()
    with transaction.atomic():
        held = list(DailyCallStats.objects.select_for_update().filter(day=day).values_list("sealed", flat=True))
        if any(held):  # sealed meanwhile by a purge: its numbers are the complete ones
            return False
        DailyCallStats.objects.filter(day=day).delete()
        for stats in summary:
            stats.computed_at = now
        DailyCallStats.objects.bulk_create(summary)
    return True


def seal_day(day: date) -> None:
    DailyCallStats.objects.filter(day=day).update(sealed=True)


def days_to_sum_up(now: datetime | None = None) -> list[date]:
    """Days with raw rows whose statistics are missing or may still change, oldest first."""
    now = now or timezone.now()
    oldest = FunctionCall.objects.aggregate(oldest=Min("created_at"))["oldest"]
    if oldest is None:
        return []
    first, today = day_of(oldest), day_of(now)
    computed = dict(DailyCallStats.objects.filter(day__gte=first).values("day").order_by("day")
                    .annotate(at=Min("computed_at")).values_list("day", "at"))
    sealed = set(DailyCallStats.objects.filter(day__gte=first, sealed=True).values_list("day", flat=True))
    out = []
    for offset in range((today - first).days + 1):
        day = first + timedelta(days=offset)
        settled_at = day_start(day) + timedelta(days=1) + SETTLE
        if day not in sealed and (day not in computed or computed[day] < settled_at):
            out.append(day)
    return out


def sum_up(now: datetime | None = None) -> list[date]:
    """Sum up every day that needs it; the days summed up."""
    return [day for day in days_to_sum_up(now) if sum_up_day(day)]


def purge_stats(now: datetime | None = None) -> int:
    """Delete statistics of days older than GRAPH_CALL_STATS_RETENTION_DAYS; how many rows."""
    cutoff = day_of(now or timezone.now()) - timedelta(days=stats_retention_days())
    deleted, _ = DailyCallStats.objects.filter(day__lt=cutoff).delete()
    return deleted


# -- Trend charts (SVG drawn by the template; no script) -----------------------------------------

WIDTH, HEIGHT, PAD = 720, 150, 4


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: date
    calls: int
    errors: int

    @property
    def label(self) -> str:
        rate = f" ({self.errors / self.calls:.1%})" if self.calls else ""
        return f"{self.day}: {self.calls} calls, {self.errors} errors{rate}"


@dataclass(frozen=True)
class TrendChart:
    """Calls per day as bars, the error rate per day as a line, over ``days`` days ending today."""

    function: str
    bars: list[Bar]
    error_points: str  # SVG polyline points
    peak_calls: int
    rate_scale: float  # the error rate at the top of the chart
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def calls(self) -> int:
        return sum(b.calls for b in self.bars)

    @property
    def errors(self) -> int:
        return sum(b.errors for b in self.bars)

    @property
    def error_rate(self) -> str:
        return f"{self.errors / self.calls:.1%}" if self.calls else "0%"

    @property
    def rate_scale_text(self) -> str:
        return f"{self.rate_scale:.1%}"

    @property
    def first_day(self) -> date:
        return self.bars[0].day

    @property
    def last_day(self) -> date:
        return self.bars[-1].day


def _chart(function: str, days: list[date], per_day: dict[date, tuple[int, int]]) -> TrendChart:
    peak = max((per_day.get(d, (0, 0))[0] for d in days), default=0)
    rates = [per_day[d][1] / per_day[d][0] for d in days if per_day.get(d, (0, 0))[0]]
    scale = max([0.01, *rates])
    slot = WIDTH / len(days)
    inner = HEIGHT - 2 * PAD
    bars, points = [], []
    for i, day in enumerate(days):
        calls, errors = per_day.get(day, (0, 0))
        height = inner * calls / peak if peak else 0.0
        bars.append(Bar(x=round(i * slot + 1, 1), y=round(HEIGHT - PAD - height, 1), width=round(slot - 2, 1),
                        height=round(height, 1), day=day, calls=calls, errors=errors))
        rate = errors / calls if calls else 0.0
        points.append(f"{round(i * slot + slot / 2, 1)},{round(HEIGHT - PAD - inner * rate / scale, 1)}")
    return TrendChart(function=function, bars=bars, error_points=" ".join(points), peak_calls=peak, rate_scale=scale)


def trend_charts(days: int = 30, today: date | None = None) -> list[TrendChart]:
    """One chart for all functions, then one per function called in the window, busiest first."""
    today = today or day_of(timezone.now())
    window = [today - timedelta(days=days - 1 - i) for i in range(days)]
    per_function: dict[str, dict[date, tuple[int, int]]] = defaultdict(dict)
    total: dict[date, list[int]] = defaultdict(lambda: [0, 0])
    for day, function, calls, errors in DailyCallStats.objects.filter(day__gte=window[0], day__lte=today).values_list(
            "day", "function", "calls", "errors"):
        per_function[function][day] = (calls, errors)
        total[day][0] += calls
        total[day][1] += errors
    charts = [_chart(name, window, series) for name, series in per_function.items()]
    charts.sort(key=lambda c: (-c.calls, c.function))
    all_functions: dict[date, tuple[int, int]] = {d: (c, e) for d, (c, e) in total.items()}
    return [_chart("All functions", window, all_functions), *charts]


