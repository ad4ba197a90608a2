"""Call log retention: GRAPH_CALL_LOG_RETENTION_DAYS, purge_call_log() and its management command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from graphfns.models import FunctionCall
from graphfns.retention import purge_call_log, retention_days

pytestmark = pytest.mark.django_db


def logged(days_ago: float) -> FunctionCall:
    return FunctionCall.objects.create(function="calendar.list_events", caller="task", mode="application",
                                       status="ok", created_at=timezone.now() - timedelta(days=days_ago))


def test_retention_defaults_to_thirty_days(settings: Any) -> None:
    del settings.GRAPH_CALL_LOG_RETENTION_DAYS
    assert retention_days() == 30


def test_the_purge_keeps_entries_inside_the_retention_window(settings: Any) -> None:
    settings.GRAPH_CALL_LOG_RETENTION_DAYS = 30
    kept = [logged(0), logged(29.9)]
    logged(30.1)
    logged(365)
    assert purge_call_log() == 2
    assert set(FunctionCall.objects.all()) == set(kept)


def test_an_explicit_day_count_overrides_the_setting(settings: Any) -> None:
    settings.GRAPH_CALL_LOG_RETENTION_DAYS = 30
    recent = logged(1)
    logged(3)
    assert purge_call_log(2) == 1
    assert list(FunctionCall.objects.all()) == [recent]


def test_the_command_purges_by_the_setting_and_says_how_many(settings: Any) -> None:
    settings.GRAPH_CALL_LOG_RETENTION_DAYS = 10
    recent = logged(9)
    logged(11)
    out = StringIO()
    call_command("purge_call_log", stdout=out)
    assert out.getvalue().strip() == "Deleted 1 call log entry older than 10 days."
    assert list(FunctionCall.objects.all()) == [recent]


def test_the_command_takes_days_and_refuses_a_negative_count() -> None:
    logged(2)
    logged(0.5)
    out = StringIO()
    call_command("purge_call_log", "--days", "1", stdout=out)
    assert "Deleted 1 call log entry older than 1 day." in out.getvalue()
    with pytest.raises(CommandError, match="0 or more"):
        call_command("purge_call_log", "--days", "-1")
    assert FunctionCall.objects.count() == 1
