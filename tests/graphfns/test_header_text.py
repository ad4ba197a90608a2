"""Text a caller gives that ends up in an HTTP header must be sendable: a clear refusal, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from membership.models import MicrosoftSettings
from tests.support.api import failure, graph_calls


@pytest.mark.parametrize("time_zone", ["Ωmega Standard Time", "Europe/Zürich\u2028", "東京", "\u00a0UTC\ud7ff"])
@pytest.mark.parametrize(("name", "params"), [
    ("calendar.get_event", {"user_id": "lee@contoso.test", "event_id": "AAMkAGIAAAoZDOFAAA="}),
    ("calendar.list_events", {"user_id": "lee@contoso.test"}),
])
def test_a_time_zone_that_cannot_be_a_header_is_a_validation_error(
        name: str, params: dict[str, Any], time_zone: str, emulator: Any, microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    error = failure(name, {**params, "time_zone": time_zone})
    assert error.code == "ValidationError"
    assert graph_calls(emulator) == 0


@pytest.mark.parametrize("prefer", ["outlook.timezone=\"Ωmega\"", "return=minimal\u00e9\u2603"])
def test_a_pass_through_prefer_header_that_cannot_be_sent_is_a_validation_error(
        prefer: str, emulator: Any, microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    error = failure("users.request", {"method": "GET", "path": "/users/lee@contoso.test",
                                      "headers": {"Prefer": prefer}})
    assert error.code == "ValidationError"
    assert graph_calls(emulator) == 0
