"""Graph JSON batching: dispatch through the router, dependsOn ordering, failed dependencies, limits."""

from __future__ import annotations

import base64
from typing import Any

import requests

from emulator.server import RunningEmulator
from tests.support.graph import graph_token

CONTOSO = "contoso.test"
JSON = {"Content-Type": "application/json"}


def _token(emulator: RunningEmulator, upn: str, scopes: tuple[str, ...] = ("User.Read", "Calendars.ReadWrite")) -> str:
    return graph_token(emulator, upn, scopes)


def _batch(http_emulator: requests.Session, emulator: RunningEmulator, token: str | None, requests_: list[dict[str, Any]],
           **headers: str) -> requests.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http_emulator.post(f"{emulator.base_url}/v1.0/$batch", json={"requests": requests_}, headers=headers)


def _by_id(resp: requests.Response) -> dict[str, dict[str, Any]]:
    assert resp.status_code == 200, resp.text
    return {r["id"]: r for r in resp.json()["responses"]}


def test_a_batch_runs_each_request_with_the_outer_token(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    resp = _batch(http_emulator, emulator, _token(emulator, "lee@contoso.test"), [
        {"id": "1", "method": "GET", "url": "/me?$select=displayName"},
        {"id": "2", "method": "GET", "url": "users"},  # needs User.ReadBasic.All, which the token lacks
        {"id": "3", "method": "GET", "url": "/me/photo/$value"},
    ], **{"client-request-id": "batch-client-id"})
    results = _by_id(resp)
    assert resp.headers["request-id"] and resp.headers["client-request-id"] == "batch-client-id"
    assert [r["id"] for r in resp.json()["responses"]] == ["1", "2", "3"]
    assert results["1"]["status"] == 200 and results["1"]["body"]["displayName"] == "Lee Gu"
    assert results["1"]["headers"]["request-id"] != resp.headers["request-id"]
    assert results["2"]["status"] == 403 and results["2"]["body"]["error"]["code"] == "Authorization_RequestDenied"
    assert results["3"]["headers"]["content-type"] == "image/png"
    assert base64.b64decode(results["3"]["body"]).startswith(b"\x89PNG")


def test_depends_on_orders_execution_even_when_listed_first(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    resp = _batch(http_emulator, emulator, _token(emulator, "lee@contoso.test"), [
        {"id": "list", "method": "GET", "url": "/me/calendars", "dependsOn": ["create"]},
        {"id": "create", "method": "POST", "url": "/me/calendars", "headers": JSON, "body": {"name": "From batch"}},
    ])
    results = _by_id(resp)
    assert [r["id"] for r in resp.json()["responses"]] == ["list", "create"]
    assert results["create"]["status"] == 201
    assert "From batch" in [c["name"] for c in results["list"]["body"]["value"]]


def test_a_failed_dependency_fails_its_dependents_with_424(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    resp = _batch(http_emulator, emulator, _token(emulator, "lee@contoso.test"), [
        {"id": "1", "method": "GET", "url": "/me/events/AAMkAGdoesnotexist"},
        {"id": "2", "method": "DELETE", "url": "/me/calendars/whatever", "dependsOn": ["1"]},
        {"id": "3", "method": "GET", "url": "/me", "dependsOn": ["2"]},
        {"id": "4", "method": "GET", "url": "/me"},
    ])
    results = _by_id(resp)
    assert results["1"]["status"] == 404 and results["1"]["body"]["error"]["code"] == "ErrorItemNotFound"
    assert results["2"]["status"] == 424 and results["3"]["status"] == 424
    assert results["4"]["status"] == 200
    calendars = emulator.emulator.user(emulator.emulator.tenant(CONTOSO), "lee@contoso.test")["calendars"]  # type: ignore[arg-type,index]
    assert len(calendars) == 2  # the dependent DELETE never ran


def test_twenty_requests_are_allowed_and_twenty_one_are_refused(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "lee@contoso.test")
    twenty = [{"id": str(i), "method": "GET", "url": "/me?$select=id"} for i in range(20)]
    assert len(_by_id(_batch(http_emulator, emulator, token, twenty))) == 20
    refused = _batch(http_emulator, emulator, token, [*twenty, {"id": "20", "method": "GET", "url": "/me"}])
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "BadRequest" and "20" in refused.json()["error"]["message"]


def test_malformed_batches_are_rejected_as_a_whole(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "lee@contoso.test")
    cases: list[list[dict[str, Any]]] = [
        [{"id": "1", "method": "GET", "url": "/me"}, {"id": "1", "method": "GET", "url": "/me"}],
        [{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["9"]}],
        [{"id": "1", "method": "POST", "url": "/me/calendars", "body": {"name": "no content type"}}],
        [{"id": "1", "method": "GET", "url": "/me", "dependsOn": ["2"]}, {"id": "2", "method": "GET", "url": "/me", "dependsOn": ["1"]}],
        [{"id": "1", "method": "GET"}],
        [],
    ]
    for case in cases:
        resp = _batch(http_emulator, emulator, token, case)
        assert resp.status_code == 400, case
        assert resp.json()["error"]["code"] == "BadRequest"


def test_a_batch_without_a_token_is_unauthorized(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    resp = _batch(http_emulator, emulator, None, [{"id": "1", "method": "GET", "url": "/me"}])
    assert resp.status_code == 401 and resp.json()["error"]["code"] == "InvalidAuthenticationToken"


def test_paging_links_inside_a_batch_point_at_the_emulator(emulator: RunningEmulator, http_emulator: requests.Session) -> None:
    token = _token(emulator, "lee@contoso.test", ("User.Read", "User.ReadBasic.All"))
    results = _by_id(_batch(http_emulator, emulator, token, [{"id": "1", "method": "GET", "url": "/users?$top=2"}]))
    link = results["1"]["body"]["@odata.nextLink"]
    assert link.startswith(f"{emulator.base_url}/v1.0/users?")
    follow = http_emulator.get(link, headers={"Authorization": f"Bearer {token}"})
    assert follow.status_code == 200 and len(follow.json()["value"]) == 2
