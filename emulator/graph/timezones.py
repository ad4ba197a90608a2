"""Time zones as Outlook names them (Windows ids) and as IANA does, and Outlook's date-time shape."""

from __future__ import annotations

import re
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import win_tz

from emulator.graph.api import GraphError
from emulator.graph.odata import parse_datetime

# Windows zone ids (as Outlook names them) to IANA names: CLDR's windowsZones table, as tzlocal
# ships it (its "001" territory, the zone each Windows id stands for).
WINDOWS_ZONES = {name.lower(): iana for name, iana in win_tz.items()} | {"coordinated universal time": "UTC"}

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
