"""The call log's write-behind mode: calls queue their entry; a writer thread stores them."""

from __future__ import annotations

import contextlib
import time
from typing import Any

import graphfns
from graphfns import call_log
from graphfns.errors import FunctionError
from graphfns.models import FunctionCall
from membership.models import MicrosoftSettings


def test_entries_written_behind_are_all_stored_after_a_flush(emulator: Any, microsoft: MicrosoftSettings, settings: Any) -> None:
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


def test_a_flush_does_not_wait_out_the_batching_window(emulator: Any, microsoft: MicrosoftSettings,
                                                       settings: Any) -> None:
    settings.GRAPH_CALL_LOG_WRITE_BEHIND = True
    graphfns.execute("users.get", {"user_id": "adele@contoso.test"}, caller="test")
    call_log.flush()  # the writer thread is running now; what follows measures a flush alone
    graphfns.execute("users.get", {"user_id": "adele@contoso.test"}, caller="test")
    started = time.monotonic()
    call_log.flush()
    assert time.monotonic() - started < call_log.GATHER_SECONDS / 2
    assert FunctionCall.objects.count() == 2
