"""The call log's write-behind mode: calls queue their entry; a writer thread stores them."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import pytest

import graphfns
from graphfns import call_log
from graphfns.errors import FunctionError
from graphfns.models import FunctionCall
from membership.models import MicrosoftSettings

# The writer thread commits on its own connection, outside a test's transaction: the tests that write
# behind use transactional_db, which empties the tables after them.


def test_entries_written_behind_are_all_stored_after_a_flush(
        transactional_db: None, emulator: Any, microsoft: MicrosoftSettings, settings: Any) -> None:
    settings.GRAPH_CALL_LOG_WRITE_BEHIND = True
    for _ in range(5):
        graphfns.execute("users.get", {"user_id": "adele@contoso.test"}, caller="test")
    with contextlib.suppress(FunctionError):
        graphfns.execute("users.get", {"user_id": "nobody@contoso.test"}, caller="test")
    call_log.flush()
    rows = list(FunctionCall.objects.order_by("created_at").values_list("status", "error_code", "caller"))
    assert rows == [("ok", "", "test")] * 5 + [("error", "NotFound", "test")]
    assert all(r.request_id for r in FunctionCall.objects.all())


def test_settings_changes_reach_execute_at_once_in_this_process(emulator: Any, microsoft: MicrosoftSettings) -> None:
    graphfns.execute("users.get", {"user_id": "adele@contoso.test"})  # memoises the settings
    microsoft.enabled = False
    microsoft.save()
    try:
        graphfns.execute("users.get", {"user_id": "adele@contoso.test"})
    except FunctionError as exc:
        assert exc.code == "MicrosoftAuthDisabled"
    else:
        raise AssertionError("disabled settings were not seen")


def test_a_flush_does_not_wait_out_the_batching_window(
        transactional_db: None, emulator: Any, microsoft: MicrosoftSettings, settings: Any) -> None:
    settings.GRAPH_CALL_LOG_WRITE_BEHIND = True
    graphfns.execute("users.get", {"user_id": "adele@contoso.test"}, caller="test")
    call_log.flush()  # the writer thread is running now; what follows measures a flush alone
    graphfns.execute("users.get", {"user_id": "adele@contoso.test"}, caller="test")
    started = time.monotonic()
    call_log.flush()
    assert time.monotonic() - started < call_log.GATHER_SECONDS / 2
    assert FunctionCall.objects.count() == 2


def test_the_writer_holds_no_database_session_once_its_queue_is_empty(
        transactional_db: None, emulator: Any, microsoft: MicrosoftSettings, settings: Any) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("sessions are read from PostgreSQL's pg_stat_activity")

    def clock() -> Any:
        with connection.cursor() as cursor:
            cursor.execute("SELECT clock_timestamp()")
            return cursor.fetchone()[0]

    def idle_sessions(since: Any) -> int:
        """Other sessions that worked during this test and are still open (the writer's, if it kept it)."""
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                           "AND pid <> pg_backend_pid() AND state = 'idle' AND state_change >= %s", [since])
            return int(cursor.fetchone()[0])

    settings.GRAPH_CALL_LOG_WRITE_BEHIND = True
    started = clock()
    graphfns.execute("users.get", {"user_id": "adele@contoso.test"}, caller="test")
    call_log.flush()
    assert FunctionCall.objects.count() == 1
    time.sleep(0.5)  # the writer closes its connection right after its last task_done()
    assert idle_sessions(started) == 0
