"""The call log admin at any size: filter choices without scanning the log, exact indexed searches,
bounded counts (PostgreSQL's estimate past EXACT_COUNT_UP_TO). Its speed is measured by
bench/call_log_admin.py; these tests hold the queries that make it so."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from graphfns.admin import EXACT_COUNT_UP_TO, EstimatedCountPaginator
from graphfns.errors import CATALOG
from graphfns.models import FunctionCall
from graphfns.registry import load

pytestmark = pytest.mark.django_db
LIST = "/admin/graphfns/functioncall/"
on_postgres = pytest.mark.skipif(not os.environ.get("DATABASE_URL", "").startswith("postgres"),
                                 reason="the planner's estimate is PostgreSQL's")


def log(n: int = 1, **fields: Any) -> None:
    now = timezone.now()
    defaults = {"function": "users.get", "caller": "cli", "mode": "application", "status": "ok"}
    FunctionCall.objects.bulk_create(
        [FunctionCall(**{**defaults, **fields, "created_at": now - timedelta(seconds=i)}) for i in range(n)])


def log_queries(client: Client, **query: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(LIST, query).status_code == 200
    return [q["sql"] for q in captured.captured_queries if "graphfns_functioncall" in q["sql"]]


def test_filter_choices_come_from_the_registry_and_the_catalog_not_the_log(admin_client: Client) -> None:
    log(function="users.get")
    html = admin_client.get(LIST).content.decode()
    for name in load():
        assert f"?function={name}" in html
    for code in CATALOG:
        assert f"?error_code={code}" in html
    for sql in log_queries(admin_client):
        assert "DISTINCT" not in sql.upper()


@pytest.mark.parametrize("query", [{}, {"status__exact": "error"}, {"function": "users.get"},
                                   {"error_code": "NotFound"}, {"mode": "delegated"}, {"q": "users.get"}])
def test_every_count_of_the_log_is_bounded(admin_client: Client, query: dict[str, str]) -> None:
    log(3)
    counts = [sql for sql in log_queries(admin_client, **query) if "COUNT(" in sql.upper()]
    assert counts, "the page counts its matches"
    for sql in counts:
        assert f"LIMIT {EXACT_COUNT_UP_TO + 1}" in sql
    assert admin_client.get(LIST, query).context["cl"].date_hierarchy is None  # its aggregations scan the log


def test_search_matches_whole_values_only(admin_client: Client) -> None:
    log(2, function="users.get", caller="api-key:sync", request_id="0a1b2c3d-0000-4000-8000-00000000a1b2")
    log(1, function="calendar.list_events", caller="cli")

    def found(term: str) -> int:
        return len(admin_client.get(LIST, {"q": term}).context["cl"].result_list)

    assert found("users.get") == 2
    assert found("users") == 0
    assert found("sync") == 2
    assert found("api-key:sync") == 2
    assert found("api-key") == 0
    assert found("0a1b2c3d-0000-4000-8000-00000000a1b2") == 2
    assert found("0A1B2C3D-0000-4000-8000-00000000A1B2") == 2  # GUIDs are case-insensitive
    assert found("0a1b2c3d") == 0
    assert "Exact match on a Graph request id" in admin_client.get(LIST).content.decode()


def test_counts_up_to_the_bound_are_exact() -> None:
    log(5)
    paginator = EstimatedCountPaginator(FunctionCall.objects.all(), 2)
    assert paginator.count == 5
    assert paginator.num_pages == 3
    assert not paginator.estimated


@on_postgres
def test_past_the_bound_postgresql_estimates_and_the_page_says_so(admin_client: Client) -> None:
    log(EXACT_COUNT_UP_TO + 500)
    log(30, status="error", error_code="NotFound")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE graphfns_functioncall")
    response = admin_client.get(LIST)
    assert response.context["cl"].paginator.estimated
    assert EXACT_COUNT_UP_TO < response.context["cl"].result_count < 2 * EXACT_COUNT_UP_TO
    assert "the count is PostgreSQL's estimate" in response.content.decode()
    filtered = admin_client.get(LIST, {"status__exact": "error"})
    assert filtered.context["cl"].result_count == 30
    assert not filtered.context["cl"].paginator.estimated
