"""Call log retention: GRAPH_CALL_LOG_RETENTION_DAYS, the batched purge, its command and scheduled task."""

from __future__ import annotations

import logging
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from graphfns.models import FunctionCall
from graphfns.retention import purge, purge_call_log, retention_days

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


def old_entries(n: int, days_ago: float = 40) -> None:
    start = timezone.now() - timedelta(days=days_ago)
    FunctionCall.objects.bulk_create([
        FunctionCall(function="users.get", caller="cli", mode="application", status="ok",
                     created_at=start - timedelta(minutes=i)) for i in range(n)])


def test_the_purge_deletes_oldest_first_in_batches_of_the_set_size(settings: Any, caplog: Any) -> None:
    settings.GRAPH_CALL_LOG_PURGE_BATCH_SIZE = 3
    settings.GRAPH_CALL_LOG_PURGE_PAUSE = 0
    old_entries(10)
    kept = logged(1)
    with CaptureQueriesContext(connection) as captured, caplog.at_level(logging.INFO, "graphfns.retention"):
        done = purge(30)
    deletes = [q["sql"] for q in captured.captured_queries
               if q["sql"].startswith('DELETE FROM "graphfns_functioncall"')]
    assert len(deletes) == 4
    assert all("LIMIT 3" in sql for sql in deletes)
    assert (done.deleted, done.batches, done.finished) == (10, 4, True)
    assert list(FunctionCall.objects.all()) == [kept]
    assert "batch 4 deleted 1 entries" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_purge_keeps_the_batches_it_finished(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.GRAPH_CALL_LOG_PURGE_BATCH_SIZE = 4
    old_entries(10)
    created = list(FunctionCall.objects.order_by("created_at").values_list("pk", flat=True))

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("graphfns.retention.time.sleep", interrupt)  # Ctrl-C during the pause after batch 1
    with pytest.raises(KeyboardInterrupt):
        purge(30)
    remaining = set(FunctionCall.objects.values_list("pk", flat=True))
    assert remaining & set(created) == set(created[4:])  # batch 1 (the four oldest) is gone, the rest kept


def test_a_purge_out_of_time_leaves_the_rest_for_the_next_run(settings: Any) -> None:
    settings.GRAPH_CALL_LOG_PURGE_BATCH_SIZE = 2
    old_entries(5)
    first = purge(30, budget=0.05, pause=0.1)
    assert (first.deleted, first.finished) == (2, False)
    assert purge(30, pause=0).deleted == 3
    assert not FunctionCall.objects.exists()


def test_a_purge_whose_budget_is_spent_before_it_starts_still_deletes_one_batch(settings: Any) -> None:
    settings.GRAPH_CALL_LOG_PURGE_BATCH_SIZE = 2
    old_entries(5)
    done = purge(30, budget=0, pause=0)  # the statistics step alone outlasts a budget of nothing
    assert (done.deleted, done.batches, done.finished) == (2, 1, False)


def test_the_scheduled_task_purges_and_beat_runs_it_hourly(settings: Any) -> None:
    from django_celery_beat.models import PeriodicTask

    from graphfns.tasks import maintain_call_log

    task = PeriodicTask.objects.get(task="graphfns.maintain_call_log")
    assert task.enabled
    assert (task.crontab.minute, task.crontab.hour) == ("17", "*")
    settings.GRAPH_CALL_LOG_RETENTION_DAYS = 30
    old_entries(3)
    recent = logged(2)
    outcome = maintain_call_log.apply().get()
    assert (outcome["deleted"], outcome["finished"]) == (3, True)
    assert list(FunctionCall.objects.all()) == [recent]
