"""Expanding a series master's ``patternedRecurrence`` into occurrence start times.

Occurrences keep their wall-clock time in the recurrence time zone (so a 09:00 meeting stays at
09:00 across a DST change), and are generated in order from the range start so ``numbered``
ranges count correctly. Generation stops at the window end, so a ``noEnd`` series costs only
the weeks up to the window.
"""

from __future__ import annotations

import calendar as cal
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from emulator.graph.api import GraphError
from emulator.graph.timezones import stored, zone

DAYS = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"]
INDEXES = {"first": 0, "second": 1, "third": 2, "fourth": 3, "last": -1}
PATTERNS = {"daily", "weekly", "absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"}
RANGES = {"noEnd", "endDate", "numbered"}
_SAFETY = 50_000  # candidate dates examined per expansion, whatever the window


def _sunday_index(d: date) -> int:
    return (d.weekday() + 1) % 7  # Python: Monday=0; Outlook weeks name Sunday first


def validate(recurrence: Any) -> None:
    def bad(msg: str) -> GraphError:
        return GraphError(400, "ErrorInvalidRequest", f"Invalid recurrence: {msg}")

    if not isinstance(recurrence, dict):
        raise bad("recurrence must be an object with pattern and range.")
    pattern, rng = recurrence.get("pattern"), recurrence.get("range")
    if not isinstance(pattern, dict) or pattern.get("type") not in PATTERNS:
        raise bad(f"pattern.type must be one of {sorted(PATTERNS)}.")
    if not isinstance(rng, dict) or rng.get("type") not in RANGES:
        raise bad(f"range.type must be one of {sorted(RANGES)}.")
    if int(pattern.get("interval") or 1) < 1:
        raise bad("pattern.interval must be at least 1.")
    if pattern["type"] in ("weekly", "relativeMonthly", "relativeYearly"):
        days = pattern.get("daysOfWeek") or []
        if not days or any(str(d).lower() not in DAYS for d in days):
            raise bad("pattern.daysOfWeek is required for this pattern type.")
    if pattern["type"] in ("absoluteMonthly", "absoluteYearly") and not 1 <= int(pattern.get("dayOfMonth") or 0) <= 31:
        raise bad("pattern.dayOfMonth must be between 1 and 31.")
    try:
        date.fromisoformat(str(rng.get("startDate")))
        if rng["type"] == "endDate":
            date.fromisoformat(str(rng.get("endDate")))
    except ValueError as exc:
        raise bad("range.startDate (and endDate for endDate ranges) must be dates.") from exc
    if rng["type"] == "numbered" and int(rng.get("numberOfOccurrences") or 0) < 1:
        raise bad("range.numberOfOccurrences must be at least 1.")


def _relative_day(year: int, month: int, weekday_names: list[str], index: str) -> date | None:
    wanted = {DAYS.index(d.lower()) for d in weekday_names}
    days = [date(year, month, d) for d in range(1, cal.monthrange(year, month)[1] + 1)
            if _sunday_index(date(year, month, d)) in wanted]
    if not days:
        return None
    i = INDEXES.get(index or "first", 0)
    return days[i] if i < len(days) else None


def _dates(pattern: dict[str, Any], start: date) -> Iterator[date]:
    kind = pattern["type"]
    interval = int(pattern.get("interval") or 1)
    if kind == "daily":
        d = start
        while True:
            yield d
            d += timedelta(days=interval)
    elif kind == "weekly":
        first = DAYS.index(str(pattern.get("firstDayOfWeek") or "sunday").lower())
        offsets = sorted(((DAYS.index(d.lower()) - first) % 7) for d in pattern["daysOfWeek"])
        week = start - timedelta(days=(_sunday_index(start) - first) % 7)
        while True:
            for off in offsets:
                d = week + timedelta(days=off)
                if d >= start:
                    yield d
            week += timedelta(weeks=interval)
    elif kind in ("absoluteMonthly", "relativeMonthly", "absoluteYearly", "relativeYearly"):
        yearly = kind.endswith("Yearly")
        step = interval * 12 if yearly else interval
        year, month = start.year, (int(pattern.get("month") or start.month) if yearly else start.month)
        if yearly and date(year, month, 1) < date(start.year, start.month, 1):
            year += 1
        while True:
            if kind.startswith("absolute"):
                dom = int(pattern["dayOfMonth"])
                found = date(year, month, dom) if dom <= cal.monthrange(year, month)[1] else None
            else:
                found = _relative_day(year, month, pattern["daysOfWeek"], str(pattern.get("index") or "first"))
            if found is not None and found >= start:
                yield found
            month += step
            year += (month - 1) // 12
            month = (month - 1) % 12 + 1


def occurrences(master: dict[str, Any], window_start: datetime,
                window_end: datetime) -> Iterator[tuple[datetime, datetime]]:
    """(start, end) in UTC of each occurrence overlapping [window_start, window_end)."""
    recurrence = master["recurrence"]
    rng = recurrence["range"]
    tz = zone(rng.get("recurrenceTimeZone") or master.get("originalStartTimeZone") or "UTC")
    first_start = stored(master["start"])
    duration = stored(master["end"]) - first_start
    local_time = first_start.astimezone(tz).timetz().replace(tzinfo=None)
    range_start = date.fromisoformat(rng["startDate"])
    end_date = date.fromisoformat(rng["endDate"]) if rng["type"] == "endDate" else None
    limit = int(rng.get("numberOfOccurrences") or 0) if rng["type"] == "numbered" else None
    for count, day in enumerate(_dates(recurrence["pattern"], range_start)):
        # ``count`` occurrences precede this one: every generated date is an occurrence.
        if count > _SAFETY or (end_date is not None and day > end_date) or (limit is not None and count >= limit):
            return
        start = datetime.combine(day, local_time).replace(tzinfo=tz).astimezone(UTC)
        if start >= window_end:
            return
        if start + duration > window_start:
            yield start, start + duration
