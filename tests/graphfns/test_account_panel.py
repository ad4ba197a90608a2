"""The account page's "Your next events" panel: the member's calendar for the next 14 days, read as them."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

import graphfns
from graphfns.errors import FunctionError
from graphfns.models import FunctionCall
from membership.models import MicrosoftSettings
from tests.support.members import Connect, account_of


def account_page(client: Client, user: Any) -> str:
    client.force_login(user)
    response = client.get("/account/")
    assert response.status_code == 200
    return response.content.decode()


def panel(html: str) -> str:
    found = re.search(r'<section class="next-events".*?</section>', html, re.S)
    assert found, "the account page has no next-events panel"
    return found.group(0)


def test_a_member_sees_their_upcoming_seeded_events(client: Client, connect: Connect) -> None:
    lee = connect("lee")
    html = panel(account_page(client, lee))
    assert "Your next events" in html
    assert "Focus time" in html  # next week
    assert html.count("Engineering weekly sync") == 2  # weekly: two occurrences in 14 days
    assert "Building 3 / Room 301" in html
    assert "Benefits review" not in html  # on other people's calendars only
    call = FunctionCall.objects.get(function="calendar.calendar_view")
    assert (call.mode, call.acting_user, call.status, call.caller) == ("delegated", lee, "ok", "account page")


def test_the_events_are_in_order_with_start_and_end_times(client: Client, connect: Connect) -> None:
    html = panel(account_page(client, connect("lee")))
    starts = re.findall(r'<time datetime="([^"]+)">', html)[::2]
    assert starts and starts == sorted(starts)
    now = timezone.now()
    assert all(now - timedelta(days=1) < datetime.fromisoformat(s) < now + timedelta(days=14) for s in starts)
    assert re.search(r"\d\d:\d\d</time>–<time", html)


def test_event_text_from_graph_is_escaped(client: Client, connect: Connect) -> None:
    lee = connect("lee")
    start = (timezone.now() + timedelta(days=1)).replace(microsecond=0, tzinfo=None)
    graphfns.execute("calendar.create_event", {"user_id": "me", "event": {
        "subject": "<script>alert(1)</script> Budget & plans",
        "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
        "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"},
    }}, auth_user=lee)
    html = panel(account_page(client, lee))
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Budget &amp; plans" in html
    assert "<script>" not in html


def test_a_member_without_calendar_access_is_offered_to_grant_it(client: Client, connect: Connect, emulator: Any,
                                                                microsoft: MicrosoftSettings) -> None:
    # Only User.Read consented for the organisation, so megan's sign-in grants no calendar scope.
    emulator.emulator.app(microsoft.client_id)["delegated_admin_consent"][microsoft.tenant] = ["User.Read"]
    megan = connect("megan", scopes=["User.Read"])
    assert "Calendars" not in account_of(megan).granted_scopes
    with pytest.raises(FunctionError) as refused:
        graphfns.execute("calendar.calendar_view", {"user_id": "me", "start": "2026-01-01T00:00:00Z",
                                                    "end": "2026-01-02T00:00:00Z"}, auth_user=megan)
    reconnect = refused.value.details["reconnect_url"]
    assert reconnect.startswith("/auth/microsoft/consent/?scopes=Calendars.")
    html = panel(account_page(client, megan))
    assert f'<a href="{escape(reconnect)}">Grant calendar access</a>' in html
    assert "Focus time" not in html


def test_a_dead_sign_in_asks_the_member_to_reconnect(client: Client, connect: Connect, emulator: Any,
                                                    http_emulator: Any) -> None:
    lee = connect("lee")
    account = account_of(lee)
    account.access_token_expires_at = timezone.now()
    account.save()
    http_emulator.post(f"{emulator.base_url}/_emulator/users/lee@contoso.test/invalid-grant", json={"code": 50173})
    html = panel(account_page(client, lee))
    assert "Your Microsoft sign-in has expired" in html
    assert 'href="/auth/microsoft/login/?next=/account/">Reconnect</a>' in html
    assert "Focus time" not in html


def test_a_graph_failure_shows_calendar_unavailable_with_the_code(client: Client, connect: Connect, emulator: Any,
                                                                 http_emulator: Any) -> None:
    lee = connect("lee")
    http_emulator.post(f"{emulator.base_url}/_emulator/faults",
                       json={"kind": "status", "status": 500, "path": "/v1.0/me/calendarView*", "count": 5})
    page = account_page(client, lee)
    assert "Calendar unavailable (UpstreamUnavailable)" in panel(page)
    assert "Microsoft connection" in page  # the rest of the page still renders


def test_a_member_without_a_microsoft_account_gets_no_panel(client: Client, microsoft: MicrosoftSettings,
                                                           django_user_model: Any) -> None:
    local = django_user_model.objects.create_user("local", password="pw-irrelevant-123")
    html = account_page(client, local)
    assert "next-events" not in html
    assert "No Microsoft account is connected." in html
    assert not FunctionCall.objects.exists()


@pytest.mark.parametrize("path", ["/v1.0/*", "/*/oauth2/v2.0/token"])
def test_the_account_page_waits_no_longer_than_its_deadline_on_a_stalled_microsoft(
        client: Client, connect: Connect, emulator: Any, http_emulator: Any, path: str) -> None:
    from graphfns.panels import PANEL_SECONDS
    from membership.models import MicrosoftAccount

    lee = connect("lee")
    if "token" in path:  # the page must renew the member's token first
        MicrosoftAccount.objects.filter(user=lee).update(access_token_expires_at=timezone.now())
    http_emulator.post(f"{emulator.base_url}/_emulator/faults",
                       json={"kind": "latency", "latency_ms": 25_000, "path": path, "rate": 1})
    started = time.monotonic()
    html = panel(account_page(client, lee))
    elapsed = time.monotonic() - started
    assert elapsed < PANEL_SECONDS + 1.5, f"the account page took {elapsed:.1f} s"
    assert "Calendar unavailable (Timeout)" in html
