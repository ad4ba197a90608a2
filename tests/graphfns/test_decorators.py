"""requires_scopes / RequiresScopesMixin: who reaches a view that calls Graph as the member."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import include, path
from django.views import View

from graphfns.decorators import RequiresScopesMixin, requires_scopes
from tests.support.members import Connect, account_of


@requires_scopes("Calendars.Read", "User.Read")
def calendar_page(request: HttpRequest, year: int) -> HttpResponse:
    return HttpResponse(f"calendar {year} for {request.user.get_username()}")


class DirectoryPage(RequiresScopesMixin, View):
    required_scopes = ("User.ReadBasic.All",)

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("directory")


urlpatterns = [
    path("calendar/<int:year>/", calendar_page),
    path("directory/", DirectoryPage.as_view()),
    path("auth/microsoft/", include("membership.urls")),
]

pytestmark = pytest.mark.urls(__name__)


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_an_anonymous_visitor_is_sent_to_sign_in_and_back(client: Client, db: None) -> None:
    response = client.get("/calendar/2026/?view=week")
    assert response.status_code == 302
    assert urlsplit(response["Location"]).path == "/signin/"
    assert query(response["Location"]) == {"next": "/calendar/2026/?view=week"}


def test_a_member_without_a_microsoft_account_is_sent_to_connect_one(client: Client, django_user_model: Any) -> None:
    client.force_login(django_user_model.objects.create_user("local", password="pw-irrelevant-123"))
    response = client.get("/calendar/2026/")
    assert urlsplit(response["Location"]).path == "/auth/microsoft/login/"
    assert query(response["Location"]) == {"next": "/calendar/2026/"}


def test_a_member_lacking_a_scope_is_sent_to_consent_for_just_that_scope(client: Client, connect: Connect) -> None:
    lee = connect("lee")
    account = account_of(lee)
    account.granted_scopes = "User.Read"  # as if calendar access was never granted
    account.save()
    client.force_login(lee)
    response = client.get("/calendar/2026/?view=week")
    assert urlsplit(response["Location"]).path == "/auth/microsoft/consent/"
    assert query(response["Location"]) == {"scopes": "Calendars.Read", "next": "/calendar/2026/?view=week"}


def test_a_member_holding_the_scopes_reaches_the_view(client: Client, connect: Connect) -> None:
    lee = connect("lee")
    account = account_of(lee)
    account.granted_scopes = "https://graph.microsoft.com/user.read Calendars.Read"  # prefix and case do not matter
    account.save()
    client.force_login(lee)
    response = client.get("/calendar/2026/")
    assert response.status_code == 200
    assert response.content.decode() == f"calendar 2026 for {lee.username}"


def test_the_mixin_guards_class_based_views_the_same_way(client: Client, connect: Connect) -> None:
    assert urlsplit(client.get("/directory/")["Location"]).path == "/signin/"
    megan = connect("megan")
    client.force_login(megan)
    response = client.get("/directory/")
    assert query(response["Location"]) == {"scopes": "User.ReadBasic.All", "next": "/directory/"}
    lee = connect("lee")  # lee consented to User.ReadBasic.All himself
    client.force_login(lee)
    assert client.get("/directory/").content == b"directory"


def test_a_revoked_account_counts_as_not_connected(client: Client, connect: Connect) -> None:
    lee = connect("lee")
    account = account_of(lee)
    account.status = "revoked"
    account.save()
    client.force_login(lee)
    assert urlsplit(client.get("/calendar/2026/")["Location"]).path == "/auth/microsoft/login/"
