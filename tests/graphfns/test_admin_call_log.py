"""The function call log in the admin: read-only, filtered, searched, purged by age."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

import graphfns
from graphfns.errors import FunctionError
from graphfns.models import FunctionCall
from membership.models import MicrosoftSettings
from tests.support.members import Connect, account_of

LIST = "/admin/graphfns/functioncall/"
PURGE = "/admin/graphfns/functioncall/purge/"


@pytest.fixture
def calls(connect: Connect) -> dict[str, Any]:
    """Real calls: one delegated OK, one application OK, one application NotFound."""
    lee = connect("lee")
    graphfns.execute("users.get", {"user_id": "me"}, auth_user=lee, caller="api-key:sync")
    graphfns.execute("users.get", {"user_id": "adele@contoso.test"}, caller="cli")
    with pytest.raises(FunctionError):
        graphfns.execute("users.get", {"user_id": "nobody@contoso.test"}, caller="cli")
    return {"lee": lee}


def rows(client: Client, **query: str) -> list[FunctionCall]:
    response = client.get(LIST, query)
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def test_the_list_shows_who_called_for_whom_and_how_it_ended(admin_client: Client, calls: dict[str, Any]) -> None:
    html = admin_client.get(LIST).content.decode()
    for heading in ["Created at", "Function", "Caller", "Acting for", "Status", "Error code", "Duration",
                    "Request id"]:
        assert heading in html
    assert "api-key:sync" in html
    assert f'<td class="field-acting_for">{calls["lee"].username}</td>' in html
    assert '<td class="field-acting_for">application</td>' in html
    assert "NotFound" in html
    logged = FunctionCall.objects.exclude(request_id="").first()
    assert logged.request_id in html
    assert f"{logged.duration_ms} ms" in html
    account = account_of(calls["lee"])
    detail = admin_client.get(f"{LIST}{logged.pk}/change/").content.decode()
    for secret in [account.access_token, account.refresh_token]:
        assert secret not in html
        assert secret not in detail


def test_filters_narrow_the_list(admin_client: Client, calls: dict[str, Any]) -> None:
    assert {c.error_code for c in rows(admin_client, status__exact="error")} == {"NotFound"}
    assert len(rows(admin_client, error_code="NotFound")) == 1
    assert {c.mode for c in rows(admin_client, mode="delegated")} == {"delegated"}
    assert len(rows(admin_client, function="users.get")) == 3
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)  # as the "Today" link
    tomorrow = today + timedelta(days=1)
    assert len(rows(admin_client, created_at__gte=str(today), created_at__lt=str(tomorrow))) == 3
    assert rows(admin_client, created_at__gte=str(tomorrow)) == []
    html = admin_client.get(LIST).content.decode()
    for title in ["By status", "By function", "By error code", "By mode", "By created at"]:
        assert title in html


def test_search_finds_calls_by_caller_member_and_request_id(admin_client: Client, calls: dict[str, Any]) -> None:
    assert [c.caller for c in rows(admin_client, q="sync")] == ["api-key:sync"]
    assert [c.acting_user for c in rows(admin_client, q=calls["lee"].username)] == [calls["lee"]]
    logged = FunctionCall.objects.exclude(request_id="").first()
    assert [c.pk for c in rows(admin_client, q=logged.request_id)] == [logged.pk]


def test_the_log_cannot_be_added_to_edited_or_deleted_piecemeal(admin_client: Client, calls: dict[str, Any]) -> None:
    call = FunctionCall.objects.first()
    assert admin_client.get(f"{LIST}add/").status_code == 403
    detail = admin_client.get(f"{LIST}{call.pk}/change/")
    assert detail.status_code == 200
    assert 'name="function"' not in detail.content.decode()
    assert admin_client.post(f"{LIST}{call.pk}/change/", {"function": "users.delete"}).status_code == 403
    assert "delete_selected" not in admin_client.get(LIST).content.decode()
    call.refresh_from_db()
    assert call.function == "users.get"


def test_the_purge_button_removes_only_entries_past_retention(admin_client: Client, microsoft: MicrosoftSettings,
                                                             settings: Any) -> None:
    settings.GRAPH_CALL_LOG_RETENTION_DAYS = 7
    now = timezone.now()
    old = FunctionCall.objects.create(function="users.get", caller="cli", mode="application", status="ok",
                                      created_at=now - timedelta(days=8))
    recent = FunctionCall.objects.create(function="users.get", caller="cli", mode="application", status="ok",
                                         created_at=now - timedelta(days=6))
    html = admin_client.get(LIST).content.decode()
    assert f'<form method="post" action="{PURGE}">' in html
    assert "Purge entries older than 7 days" in html
    assert admin_client.get(PURGE).status_code == 405
    response = admin_client.post(PURGE, follow=True)
    assert "Deleted 1 call log entry older than 7 days." in response.content.decode()
    assert list(FunctionCall.objects.all()) == [recent]
    assert not FunctionCall.objects.filter(pk=old.pk).exists()


def test_staff_who_may_only_view_the_log_cannot_purge_it(django_user_model: Any, microsoft: MicrosoftSettings) -> None:
    from django.contrib.auth.models import Permission

    staff = django_user_model.objects.create_user("auditor", password="pw-irrelevant-123", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename="view_functioncall"))
    FunctionCall.objects.create(function="users.get", caller="cli", mode="application", status="ok",
                                created_at=timezone.now() - timedelta(days=400))
    client = Client()
    client.force_login(staff)
    html = client.get(LIST).content.decode()
    assert "users.get" in html
    assert "Purge entries" not in html
    assert client.post(PURGE).status_code == 403
    assert FunctionCall.objects.count() == 1
