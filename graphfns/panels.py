"""Panels graphfns adds to the member's account page (settings.ACCOUNT_PAGE_PANELS).

A panel is ``(request) -> str``: HTML rendered from an autoescaping template, so the account
page can insert it as it is.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

import graphfns
from graphfns.errors import FunctionError
from membership.conf import conf
from membership.lib.http import deadline
from membership.models import MicrosoftAccount

UPCOMING_DAYS = 14
MAX_EVENTS = 10
PANEL_SECONDS = 5.0  # the account page waits no longer than this for Microsoft (token refresh included)


def _when(value: dict[str, Any] | None) -> datetime | None:
    """Graph's {dateTime, timeZone} (seven fractional digits) as an aware datetime."""
    if not value or not value.get("dateTime"):
        return None
    raw = value["dateTime"].rstrip("Z")
    head, _, fraction = raw.partition(".")
    try:
        moment = datetime.fromisoformat(f"{head}.{fraction[:6]}" if fraction else head)
    except ValueError:
        return None
    return timezone.make_aware(moment, timezone.get_current_timezone()) if timezone.is_naive(moment) else moment


def _event(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "subject": item.get("subject") or "(no subject)",
        "start": _when(item.get("start")),
        "end": _when(item.get("end")),
        "all_day": bool(item.get("isAllDay")),
        "location": (item.get("location") or {}).get("displayName") or "",
        "link": item.get("webLink") or "",
    }


def next_events(request: HttpRequest) -> str:
    """The member's events for the next two weeks, read from their calendar as them."""
    user = request.user
    if not user.is_authenticated:
        return ""
    if not MicrosoftAccount.objects.connected().filter(user=user).exists():
        return ""  # the account page already offers "Sign in with Microsoft"
    now = timezone.now()
    context: dict[str, Any] = {"days": UPCOMING_DAYS, "account_url": conf.account_url()}
    try:
        with deadline(PANEL_SECONDS):
            result = graphfns.execute("calendar.calendar_view", {
                "user_id": "me",
                "start": now.isoformat(timespec="seconds"),
                "end": (now + timedelta(days=UPCOMING_DAYS)).isoformat(timespec="seconds"),
                "time_zone": timezone.get_current_timezone_name(),
                "select": ["subject", "start", "end", "location", "isAllDay", "webLink"],
                "limit": MAX_EVENTS,
            }, auth_user=user, caller="account page")
        context["events"] = [_event(item) for item in result.get("value", [])]
    except FunctionError as exc:
        context["error"] = {"code": exc.code, "reconnect_url": exc.details.get("reconnect_url", "")}
    return render_to_string("graphfns/panels/next_events.html", context, request=request)
