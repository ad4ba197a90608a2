"""API keys on the hot path: remembered for a few seconds, last_used_at written at most once a minute."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from graphfns.models import ApiKey
from membership.models import MicrosoftSettings

GET_ADELE = {"params": {"user_id": "adele@contoso.test"}}
URL = "/api/functions/users.get/execute"


def call(client: Client, raw: str) -> Any:
    return client.post(URL, GET_ADELE, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {raw}")


def key_writes(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries
            if q["sql"].startswith("UPDATE") and "graphfns_apikey" in q["sql"]]


def key_queries(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "graphfns_apikey" in q["sql"]]


@pytest.mark.django_db
def test_using_a_key_twice_within_a_minute_writes_last_used_at_once(settings: Any) -> None:
    settings.GRAPH_API_KEY_CACHE_SECONDS = 0  # read the key from the database every time
    key, raw = ApiKey.issue("sync job")
    with CaptureQueriesContext(connection) as queries:
        assert ApiKey.authenticate(raw) == key
        assert ApiKey.authenticate(raw) == key
    assert len(key_writes(queries)) == 1
    key.refresh_from_db()
    first_use = key.last_used_at
    assert first_use is not None

    # A minute later the next use stamps it again.
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first_use - timedelta(seconds=61))
    with CaptureQueriesContext(connection) as queries:
        assert ApiKey.authenticate(raw) == key
    assert len(key_writes(queries)) == 1
    key.refresh_from_db()
    assert key.last_used_at > first_use - timedelta(seconds=61)


@pytest.mark.django_db
def test_using_one_key_does_not_stamp_other_keys() -> None:
    used, raw = ApiKey.issue("used")
    idle, _ = ApiKey.issue("idle")
    ApiKey.authenticate(raw)
    used.refresh_from_db()
    idle.refresh_from_db()
    assert used.last_used_at is not None
    assert idle.last_used_at is None


@pytest.mark.django_db
def test_a_remembered_key_costs_no_database_query() -> None:
    key, raw = ApiKey.issue("hot path")
    ApiKey.authenticate(raw)
    with CaptureQueriesContext(connection) as queries:
        assert ApiKey.authenticate(raw) == key
    assert key_queries(queries) == []


@pytest.mark.django_db
def test_a_wrong_key_is_never_remembered() -> None:
    assert ApiKey.authenticate("gfn_not-a-key") is None
    with CaptureQueriesContext(connection) as queries:
        assert ApiKey.authenticate("gfn_not-a-key") is None
    assert len(key_queries(queries)) == 1


@pytest.mark.django_db
def test_a_key_revoked_by_another_process_is_refused_within_the_cache_window(settings: Any) -> None:
    settings.GRAPH_API_KEY_CACHE_SECONDS = 0.5
    key, raw = ApiKey.issue("old job")
    assert ApiKey.authenticate(raw) == key
    # Another process revokes it: no signal reaches this one.
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    time.sleep(0.6)
    assert ApiKey.authenticate(raw) is None


def test_the_admins_revoke_action_refuses_the_key_at_once(admin_client: Client, microsoft: MicrosoftSettings) -> None:
    key, raw = ApiKey.issue("leaked")
    _, kept_raw = ApiKey.issue("kept")
    assert call(admin_client, raw).status_code == 200
    assert call(admin_client, kept_raw).status_code == 200
    admin_client.post("/admin/graphfns/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    response = call(admin_client, raw)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AuthenticationRequired"
    assert call(admin_client, kept_raw).status_code == 200


@pytest.mark.django_db
def test_a_key_revoked_by_saving_it_in_this_process_is_refused_at_once() -> None:
    key, raw = ApiKey.issue("leaked")
    assert ApiKey.authenticate(raw) == key
    key.revoked_at = timezone.now()
    key.save()
    assert ApiKey.authenticate(raw) is None
