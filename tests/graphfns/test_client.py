"""The Graph client against the emulator's faults: retries, budgets, paging, $batch."""

from __future__ import annotations

import time
from typing import Any

import pytest

from graphfns.client import GraphClient
from graphfns.errors import FunctionError
from tests.support.members import seeded_user


@pytest.fixture
def app_client(emulator: Any, settings: Any) -> GraphClient:
    """A client with an application token minted by the emulator (Directory + Calendars roles)."""
    settings.MICROSOFT_CA_BUNDLE = emulator.ca_file
    emu = emulator.emulator
    tenant = emu.state["tenants"][0]["id"]
    token, _ = emu.issue_access_token(tenant, emulator.info["client_id"],
                                      roles=["User.ReadWrite.All", "Calendars.ReadWrite"])
    return GraphClient(emulator.base_url, token, max_attempts=4, deadline=5)


def fault(http: Any, emulator: Any, **spec: Any) -> None:
    response = http.post(f"{emulator.base_url}/_emulator/faults", json=spec)
    assert response.status_code in (200, 201), response.text


def seen_by_emulator(http: Any, emulator: Any) -> tuple[int, int]:
    """(faulted answers, requests answered normally) for a user, as the emulator counted them."""
    faults = http.get(f"{emulator.base_url}/_emulator/faults").json()["faults"]
    counters = http.get(f"{emulator.base_url}/_emulator/counters").json()["requests"]
    return sum(f["fired"] for f in faults), counters.get("GET /v1.0/users/{id}", 0)


def test_it_retries_a_429_after_the_retry_after_interval(app_client: GraphClient, emulator: Any, http_emulator: Any) -> None:
    fault(http_emulator, emulator, kind="status", status=429, retry_after=1, path="/v1.0/users/*", count=2)
    started = time.monotonic()
    body = app_client.get("/users/adele@contoso.test")
    assert body["displayName"] == "Adele Vance"
    assert time.monotonic() - started >= 2.0  # honoured Retry-After twice
    assert seen_by_emulator(http_emulator, emulator) == (2, 1)  # two 429s, then the request that answered
    assert (app_client.stats.retries, app_client.stats.requests) == (2, 3)


@pytest.mark.parametrize("status", [503, 504])
def test_it_retries_503_and_504(app_client: GraphClient, emulator: Any, http_emulator: Any, status: int) -> None:
    fault(http_emulator, emulator, kind="status", status=status, retry_after=0, path="/v1.0/users/*", count=1)
    assert app_client.get("/users/adele@contoso.test")["givenName"] == "Adele"
    assert seen_by_emulator(http_emulator, emulator) == (1, 1)
    assert app_client.stats.retries == 1


def test_throttling_beyond_the_budget_is_throttled_with_retry_after(app_client: GraphClient, emulator: Any, http_emulator: Any) -> None:
    fault(http_emulator, emulator, kind="status", status=429, retry_after=30, path="/v1.0/users/*", count=5)
    started = time.monotonic()
    with pytest.raises(FunctionError) as excinfo:
        app_client.get("/users/adele@contoso.test")
    assert time.monotonic() - started < 2  # 30 s exceeds the 5 s budget: no pointless wait
    assert excinfo.value.code == "Throttled"
    assert excinfo.value.details["retry_after"] == "30"
    assert excinfo.value.details["request_id"]


def test_a_persistent_503_is_upstream_unavailable(app_client: GraphClient, emulator: Any, http_emulator: Any) -> None:
    fault(http_emulator, emulator, kind="status", status=503, retry_after=0, path="/v1.0/users/*", count=10)
    with pytest.raises(FunctionError) as excinfo:
        app_client.get("/users/adele@contoso.test")
    assert excinfo.value.code == "UpstreamUnavailable"
    assert seen_by_emulator(http_emulator, emulator) == (4, 0)  # max_attempts, all answered 503


def test_a_dropped_connection_is_retried_for_a_get(app_client: GraphClient, emulator: Any, http_emulator: Any) -> None:
    fault(http_emulator, emulator, kind="reset", path="/v1.0/users/*", count=1)
    assert app_client.get("/users/adele@contoso.test")["surname"] == "Vance"
    assert seen_by_emulator(http_emulator, emulator) == (1, 1)


def test_a_dropped_connection_is_not_retried_for_a_plain_post(app_client: GraphClient, emulator: Any, http_emulator: Any) -> None:
    lee = seeded_user(emulator, "lee")
    fault(http_emulator, emulator, kind="reset", path="/v1.0/users/*/events", method="POST", count=1)
    event = {"subject": "x", "start": {"dateTime": "2030-01-01T09:00:00", "timeZone": "UTC"},
             "end": {"dateTime": "2030-01-01T10:00:00", "timeZone": "UTC"}}
    with pytest.raises(FunctionError) as excinfo:
        app_client.request("POST", f"/users/{lee['id']}/events", json=event)
    assert excinfo.value.code == "UpstreamUnavailable"
    assert app_client.stats.requests == 1


def test_a_slow_answer_is_a_timeout(emulator: Any, http_emulator: Any, settings: Any) -> None:
    settings.MICROSOFT_CA_BUNDLE = emulator.ca_file
    emu = emulator.emulator
    token, _ = emu.issue_access_token(emu.state["tenants"][0]["id"], "x", roles=["User.Read.All"])
    client = GraphClient(emulator.base_url, token, max_attempts=1, timeout=(2, 0.3))
    fault(http_emulator, emulator, kind="latency", latency_ms=1500, path="/v1.0/users/*", count=1)
    with pytest.raises(FunctionError) as excinfo:
        client.get("/users/adele@contoso.test")
    assert excinfo.value.code == "Timeout"


def test_graph_errors_keep_graphs_code_and_request_id(app_client: GraphClient) -> None:
    with pytest.raises(FunctionError) as excinfo:
        app_client.get("/users/nobody@contoso.test")
    assert excinfo.value.code == "NotFound"
    assert excinfo.value.details["graph_code"] == "Request_ResourceNotFound"
    assert len(excinfo.value.details["request_id"]) >= 32


def test_paging_follows_next_links_over_more_than_three_pages(app_client: GraphClient, emulator: Any) -> None:
    emulator.emulator.requests.clear()
    users = list(app_client.pages("/users", params={"$top": 3, "$select": "id,displayName"}))
    assert len(users) == 13
    assert len({u["id"] for u in users}) == 13
    assert app_client.stats.requests == 5


def test_batch_sends_20_per_request_and_keeps_the_order(app_client: GraphClient, emulator: Any) -> None:
    users = emulator.emulator.state["tenants"][0]["users"]
    wanted = [users[i % len(users)]["id"] for i in range(45)]
    requests_ = [{"id": str(i), "method": "GET", "url": f"/users/{uid}?$select=id"} for i, uid in enumerate(wanted)]
    answers = app_client.batch(requests_)
    assert [a["body"]["id"] for a in answers] == wanted
    assert app_client.stats.requests == 3  # 20 + 20 + 5


def test_batch_honours_depends_on(app_client: GraphClient, emulator: Any) -> None:
    lee = seeded_user(emulator, "lee")
    event = {"subject": "Batch", "start": {"dateTime": "2030-01-01T09:00:00", "timeZone": "UTC"},
             "end": {"dateTime": "2030-01-01T10:00:00", "timeZone": "UTC"}}
    answers = app_client.batch([
        {"id": "create", "method": "POST", "url": f"/users/{lee['id']}/events", "body": event},
        {"id": "list", "method": "GET", "url": f"/users/{lee['id']}/events?$filter=subject eq 'Batch'",
         "dependsOn": ["create"]},
    ])
    assert answers[0]["status"] == 201
    assert [e["subject"] for e in answers[1]["body"]["value"]] == ["Batch"]


def test_batch_items_throttled_once_are_sent_again(app_client: GraphClient, emulator: Any) -> None:
    # Throttle only the inner request for Adele, once: the batch itself succeeds.
    emu = emulator.emulator
    from emulator.app import Fault

    adele = seeded_user(emulator, "adele")
    with emu.lock:
        emu.faults.append(Fault(kind="status", status=429, retry_after=1, path=f"/v1.0/users/{adele['id']}", count=1))
    answers = app_client.batch([{"id": "a", "method": "GET", "url": f"/users/{adele['id']}"},
                                {"id": "b", "method": "GET", "url": "/users/lee@contoso.test"}])
    assert [a["status"] for a in answers] == [200, 200]
    assert app_client.stats.retries == 1


def test_the_deadline_counts_the_time_spent_waiting_for_answers(
        emulator: Any, http_emulator: Any, settings: Any) -> None:
    settings.MICROSOFT_CA_BUNDLE = emulator.ca_file
    settings.MICROSOFT_READ_TIMEOUT = 2
    settings.MICROSOFT_GRAPH_DEADLINE = 3
    emu = emulator.emulator
    token, _ = emu.issue_access_token(emu.state["tenants"][0]["id"], "x", roles=["User.Read.All"])
    client = GraphClient(emulator.base_url, token)  # four attempts allowed, but only three seconds
    fault(http_emulator, emulator, kind="latency", latency_ms=2_500, path="/v1.0/users/*", rate=1)
    started = time.monotonic()
    with pytest.raises(FunctionError) as excinfo:
        client.get("/users/adele@contoso.test")
    elapsed = time.monotonic() - started
    assert excinfo.value.code == "Timeout"
    assert elapsed < 3.5, f"took {elapsed:.1f} s"
    assert client.stats.requests == 1  # too little time was left to try again


def test_a_retry_is_made_when_the_deadline_leaves_room_for_it(
        app_client: GraphClient, emulator: Any, http_emulator: Any, settings: Any) -> None:
    settings.MICROSOFT_READ_TIMEOUT = 1
    fault(http_emulator, emulator, kind="latency", latency_ms=1_500, path="/v1.0/users/*", count=1)
    assert app_client.get("/users/adele@contoso.test")["givenName"] == "Adele"  # deadline 5 s: room for two
    assert app_client.stats.requests == 2


@pytest.mark.parametrize("body", [{"jobTitle": float("nan")}, {"x": [float("inf")]}])
def test_a_body_json_cannot_carry_is_a_validation_error_before_any_attempt(
        app_client: GraphClient, body: dict[str, Any]) -> None:
    with pytest.raises(FunctionError) as excinfo:
        app_client.request("PATCH", "/users/lee@contoso.test", json=body)
    assert (excinfo.value.code, excinfo.value.details["field"]) == ("ValidationError", "body")
    assert app_client.stats.requests == 0
