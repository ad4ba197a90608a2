"""/metrics: Prometheus text for a scraper with METRICS_TOKEN; the counters move with real calls."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from graphfns.app_tokens import clear_app_token_cache
from graphfns.models import ApiKey
from membership.models import MicrosoftAccount, MicrosoftSettings
from membership.refresh import plan_sweep, run_batch
from tests.support.members import Connect, account_of

TOKEN = "scrape-me-0123456789"
ADELE = {"params": {"user_id": "adele@contoso.test"}}


@pytest.fixture
def scrape(client: Client, settings: Any) -> Any:
    settings.METRICS_TOKEN = TOKEN

    def run() -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        response = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain")
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(response.content.decode()) for s in family.samples}

    return run


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def call(client: Client, raw: str, name: str = "users.get", body: dict[str, Any] = ADELE) -> Any:
    return client.post(f"/api/functions/{name}/execute", body, content_type="application/json",
                       HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_without_a_token_configured_there_are_no_metrics(client: Client, settings: Any) -> None:
    settings.METRICS_TOKEN = ""
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer anything").status_code == 404


@pytest.mark.parametrize("header", ["", "Bearer wrong", f"Basic {TOKEN}", f"Bearer {TOKEN}x"])
def test_a_wrong_token_is_refused(client: Client, settings: Any, header: str) -> None:
    settings.METRICS_TOKEN = TOKEN
    response = client.get("/metrics", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert TOKEN not in response.content.decode()


def test_a_call_counts_by_function_and_code_with_its_graph_latency(
        client: Client, microsoft: MicrosoftSettings, scrape: Any) -> None:
    raw = ApiKey.issue("metrics")[1]
    call(client, raw)  # the application token is fetched once, outside the counts below
    before = scrape()
    assert call(client, raw).status_code == 200
    missing = call(client, raw, body={"params": {"user_id": "nobody@contoso.test"}})
    assert missing.json()["error"]["code"] == "NotFound"
    after = scrape()
    calls = "graphfns_function_calls_total"
    assert value(after, calls, function="users.get", code="ok") - value(before, calls, function="users.get", code="ok") == 1
    assert value(after, calls, function="users.get", code="NotFound") \
        - value(before, calls, function="users.get", code="NotFound") == 1
    count = "graphfns_graph_request_duration_seconds_count"
    assert value(after, count, function="users.get") - value(before, count, function="users.get") == 2
    assert value(after, "graphfns_graph_request_duration_seconds_sum", function="users.get") \
        > value(before, "graphfns_graph_request_duration_seconds_sum", function="users.get")


def test_throttling_retries_and_application_token_renewals_are_counted(
        client: Client, emulator: Any, http_emulator: Any, microsoft: MicrosoftSettings, scrape: Any) -> None:
    raw = ApiKey.issue("metrics")[1]
    clear_app_token_cache()
    before = scrape()
    http_emulator.post(f"{emulator.base_url}/_emulator/faults",
                       json={"kind": "status", "status": 429, "retry_after": 0, "path": "/v1.0/users/*", "count": 1})
    assert call(client, raw).status_code == 200
    after = scrape()
    assert value(after, "graphfns_graph_retries_total", reason="429") \
        - value(before, "graphfns_graph_retries_total", reason="429") == 1
    assert value(after, "graphfns_app_token_renewals_total", outcome="renewed") \
        - value(before, "graphfns_app_token_renewals_total", outcome="renewed") == 1


def test_member_token_refreshes_and_sweep_progress_are_counted(connect: Connect, scrape: Any) -> None:
    lee, alex = account_of(connect("lee")), account_of(connect("alex"))
    MicrosoftAccount.objects.filter(pk__in=[lee.pk, alex.pk]).update(last_refreshed_at=timezone.now() - timedelta(days=8))
    before = scrape()
    sweep, batches = plan_sweep()
    for ids in batches:
        run_batch(sweep.pk, ids)
    after = scrape()
    assert value(after, "membership_token_refreshes_total", outcome="refreshed") \
        - value(before, "membership_token_refreshes_total", outcome="refreshed") == 2
    assert value(after, "membership_refresh_sweep_accounts_total", outcome="refreshed") \
        - value(before, "membership_refresh_sweep_accounts_total", outcome="refreshed") == 2
    assert value(after, "membership_refresh_sweep_batches_total") \
        - value(before, "membership_refresh_sweep_batches_total") == len(batches)
