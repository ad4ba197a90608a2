"""Pass-through paths (users.request): what is refused before any call, and the URL that actually leaves.

The emulator decodes the path it receives; a fault placed on one exact path fires only if the request
arrived there, so the tests see the URL the site sent, not the one it meant to send.
"""

from __future__ import annotations

import contextlib
from typing import Any

import pytest

import graphfns
from graphfns.errors import FunctionError
from membership.models import MicrosoftSettings
from tests.support.api import failure, graph_calls

NOT_A_PATH = "give a Graph path such as"
NO_QUERY = "put query options in 'query'"
BAD_SEGMENT = "empty, '.', '..' and encoded '/' segments are not allowed"
SYSTEM_SEGMENT = "of the $ segments only"


@pytest.mark.parametrize(("path", "why"), [
    ("xusers/lee@contoso.test", NOT_A_PATH),
    ("users/lee@contoso.test", NOT_A_PATH),
    ("//evil.example/users", NOT_A_PATH),
    ("/users/https://evil.example/x", NOT_A_PATH),
    ("/users\\lee@contoso.test", NOT_A_PATH),
    ("/users/lee@contoso.test?$select=id", NO_QUERY),
    ("/users/lee@contoso.test#manager", NO_QUERY),
    ("/users/./lee@contoso.test", BAD_SEGMENT),
    ("/users/%2E/lee@contoso.test", BAD_SEGMENT),
    ("/users/%2e%2e/groups", BAD_SEGMENT),
    ("/users//manager", BAD_SEGMENT),
    ("/users/lee%2Fmanager", BAD_SEGMENT),
    ("/users/lee%5Cmanager", BAD_SEGMENT),
    ("/users/lee%0Amanager", BAD_SEGMENT),
    ("/users/lee%00", BAD_SEGMENT),
    ("/users/lee%1F", BAD_SEGMENT),
    ("/users/lee%7F", BAD_SEGMENT),
    ("/users/%24batch", SYSTEM_SEGMENT),
    ("/users/lee@contoso.test/$metadata", SYSTEM_SEGMENT),
    ("/users/lee@contoso.test/$entity", SYSTEM_SEGMENT),
    ("/me", "/me needs a member to act as"),
    ("/ME/manager", "/me needs a member to act as"),
    ("/users/\ud800", "lone surrogate"),
])
def test_a_path_is_refused_for_what_is_wrong_with_it_before_any_call(
        path: str, why: str, emulator: Any, microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    error = failure("users.request", {"method": "GET", "path": path})
    assert (error.code, error.details.get("field")) == ("ValidationError", "path")
    assert why in error.message
    assert graph_calls(emulator) == 0


def faults(http: Any, emulator: Any) -> list[dict[str, Any]]:
    return http.get(f"{emulator.base_url}/_emulator/faults").json()["faults"]


@pytest.mark.parametrize(("path", "arrives_at"), [
    ("/users/a%3Fb", "/v1.0/users/a[?]b"),  # an encoded ? stays in its segment, not a query
    ("/users/a%23b", "/v1.0/users/a#b"),  # an encoded # stays in its segment, not a fragment
    ("/users/a%25b", "/v1.0/users/a%b"),
    ("/users/a b", "/v1.0/users/a b"),
    ("/users/a%26b=c", "/v1.0/users/a&b=c"),
    ("/users/lee@contoso.test/", "/v1.0/users/lee@contoso.test"),
    ("/users/lee@contoso.test/photo/$VALUE", "/v1.0/users/lee@contoso.test/photo/$VALUE"),
    ("/users/lee@contoso.test/memberOf/$count", "/v1.0/users/lee@contoso.test/memberOf/$count"),
])
def test_each_segment_arrives_whole_at_graph(path: str, arrives_at: str, emulator: Any, http_emulator: Any,
                                            microsoft: MicrosoftSettings) -> None:
    http_emulator.post(f"{emulator.base_url}/_emulator/faults",
                       json={"kind": "status", "status": 409, "path": arrives_at, "method": "GET", "count": 1})
    with contextlib.suppress(FunctionError):  # Graph's 409 may come back as an error or as the status
        graphfns.execute("users.request", {"method": "GET", "path": path})
    assert [f["fired"] for f in faults(http_emulator, emulator)] == [1], f"{path} did not arrive at {arrives_at}"


def test_query_options_arrive_as_the_query(emulator: Any, microsoft: MicrosoftSettings) -> None:
    answer = graphfns.execute("users.request", {"method": "GET", "path": "/users/lee@contoso.test",
                                                "query": {"$select": "displayName"}})
    assert answer == {"status": 200, "body": {"displayName": "Lee Gu"}}


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_only_post_patch_and_put_take_a_body(method: str, emulator: Any, microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    error = failure("users.request", {"method": method, "path": "/users/lee@contoso.test", "body": {"x": 1}})
    assert (error.code, error.details["field"]) == ("ValidationError", "body")
    assert graph_calls(emulator) == 0


def test_a_boolean_query_option_is_sent_as_graph_spells_it(emulator: Any, microsoft: MicrosoftSettings) -> None:
    found = graphfns.execute("users.request", {
        "method": "GET", "path": "/users", "query": {"$search": '"displayName:lee"', "$count": True},
        "headers": {"ConsistencyLevel": "eventual"}})
    assert found["body"]["@odata.count"] == 1


def test_a_put_with_a_body_is_sent(emulator: Any, microsoft: MicrosoftSettings) -> None:
    emulator.emulator.requests.clear()
    with contextlib.suppress(FunctionError):  # whatever Graph answers; the point is that it was asked
        graphfns.execute("calendar.request", {"method": "PUT", "path": "/users/lee@contoso.test/events/AAMkAGIAAA=",
                                              "body": {"subject": "Moved"}})
    assert graph_calls(emulator) == 1


@pytest.mark.parametrize("pages", [{"all_pages": False}, {"all_pages": True}])
def test_a_page_of_events_keeps_the_time_zone_asked_for(emulator: Any, microsoft: MicrosoftSettings,
                                                       pages: dict[str, Any]) -> None:
    params = {"user_id": "lee@contoso.test", "time_zone": "Pacific Standard Time", "top": 1, **pages}
    first = graphfns.execute("calendar.list_events", params)
    assert first["value"] and {e["start"]["timeZone"] for e in first["value"]} == {"Pacific Standard Time"}
    if not pages["all_pages"]:
        second = graphfns.execute("calendar.list_events", {**params, "cursor": first["next_cursor"]})
        assert {e["start"]["timeZone"] for e in second["value"]} == {"Pacific Standard Time"}
