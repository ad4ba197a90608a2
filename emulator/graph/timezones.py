"""Time zones as Outlook names them (Windows ids) and as IANA does, and Outlook's date-time shape."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from emulator.graph.api import GraphError
from emulator.graph.odata import parse_datetime

# The Windows zone ids clients send most; Outlook accepts these and IANA names alike.
WINDOWS_ZONES = {
    "utc": "UTC", "coordinated universal time": "UTC", "gmt standard time": "Europe/London",
    "greenwich standard time": "Atlantic/Reykjavik", "w. europe standard time": "Europe/Berlin",
    "central europe standard time": "Europe/Budapest", "romance standard time": "Europe/Paris",
    "central european standard time": "Europe/Warsaw", "e. europe standard time": "Europe/Chisinau",
    "fle standard time": "Europe/Kiev", "gtb standard time": "Europe/Bucharest",
    "russian standard time": "Europe/Moscow", "pacific standard time": "America/Los_Angeles",
    "mountain standard time": "America/Denver", "central standard time": "America/Chicago",
    "eastern standard time": "America/New_York", "atlantic standard time": "America/Halifax",
    "alaskan standard time": "America/Anchorage", "hawaiian standard time": "Pacific/Honolulu",
    "us mountain standard time": "America/Phoenix", "e. south america standard time": "America/Sao_Paulo",
    "india standard time": "Asia/Kolkata", "china standard time": "Asia/Shanghai",
    "tokyo standard time": "Asia/Tokyo", "korea standard time": "Asia/Seoul",
    "singapore standard time": "Asia/Singapore", "arabian standard time": "Asia/Dubai",
    "aus eastern standard time": "Australia/Sydney", "new zealand standard time": "Pacific/Auckland",
    "south africa standard time": "Africa/Johannesburg", "israel standard time": "Asia/Jerusalem",
}

OUTLOOK_FORMAT = "%Y-%m-%dT%H:%M:%S.0000000"


def zone(name: str | None) -> tzinfo:
    if not name or name.lower() in ("utc", "z", "etc/utc"):
        return UTC
    mapped = WINDOWS_ZONES.get(name.lower(), name)
    try:
        return ZoneInfo(mapped)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise GraphError(400, "TimeZoneNotSupportedException",
                         "A valid TimeZone value must be specified. The following TimeZone value is not "
                         f"supported: '{name}'.") from exc


def to_utc(value: Any, prop: str = "dateTime") -> datetime:
    """A ``dateTimeTimeZone`` ({"dateTime", "timeZone"}) as an aware UTC datetime."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise GraphError(400, "ErrorInvalidRequest", f"The property '{prop}' must be a dateTimeTimeZone value.")
    text = value["dateTime"].strip()
    try:
        naive = datetime.fromisoformat(text.removesuffix("Z").removesuffix("z"))
    except ValueError as exc:
        raise GraphError(400, "ErrorInvalidRequest",
                         f"Cannot convert the literal '{text}' to the expected type 'Edm.DateTimeOffset'.") from exc
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    return naive.replace(tzinfo=zone(value.get("timeZone"))).astimezone(UTC)


def stamp(dt: datetime, tz_name: str = "UTC") -> dict[str, str]:
    """Outlook's shape for a moment, expressed in ``tz_name``."""
    return {"dateTime": dt.astimezone(zone(tz_name)).strftime(OUTLOOK_FORMAT), "timeZone": tz_name}


def stored(value: dict[str, Any]) -> datetime:
    """A stored (UTC) ``dateTimeTimeZone``: parsed through the cache."""
    return parse_datetime(value["dateTime"]) if value.get("timeZone", "UTC") == "UTC" else to_utc(value)


_PREFER_TZ = re.compile(r'outlook\.timezone\s*=\s*"([^"]+)"', re.IGNORECASE)


def preferred_zone(prefer: str | None) -> str | None:
    """The ``Prefer: outlook.timezone="..."`` zone, validated; None when absent."""
    if not prefer:
        return None
    m = _PREFER_TZ.search(prefer)
    if not m:
        return None
    zone(m.group(1))
    return m.group(1)


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
