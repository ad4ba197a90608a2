"""The client secret and members' tokens go to Microsoft's clouds only (plus MICROSOFT_ALLOWED_HOSTS)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from graphfns.app_tokens import AppTokenCache
from membership.models import MicrosoftSettings
from tests.support.api import failure
from tests.support.members import Connect, account_of
from tests.support.settings import errors, settings_form


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "https://login.microsoftonline.com", "https://login.microsoftonline.us/", "https://login.chinacloudapi.cn",
])
def test_microsofts_authority_hosts_are_accepted(url: str) -> None:
    assert settings_form(authority_host=url).is_valid()


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "https://graph.microsoft.com", "https://graph.microsoft.us", "https://dod-graph.microsoft.us",
    "https://microsoftgraph.chinacloudapi.cn/",
])
def test_microsofts_graph_hosts_are_accepted(url: str) -> None:
    assert settings_form(graph_url=url).is_valid()


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    "https://evil.example",
    "https://login.microsoftonline.com.evil.example",
    "https://login.microsoftonline.com@evil.example",
    "https://login.microsoftonline.com:8443",
    "http://login.microsoftonline.com",
    "https://login.microsoftonline.com/evil?x=1",
    "https://localhost:8443",
])
def test_other_authority_hosts_are_refused_with_the_reason(url: str) -> None:
    message = errors(settings_form(authority_host=url), "authority_host")
    assert "authority host" in message


@pytest.mark.django_db
def test_a_graph_url_elsewhere_is_refused_and_the_admin_says_why() -> None:
    message = errors(settings_form(graph_url="https://graph.evil.example"), "graph_url")
    assert "not a Microsoft Graph URL" in message and "MICROSOFT_ALLOWED_HOSTS" in message


@pytest.mark.django_db
def test_hosts_named_in_microsoft_allowed_hosts_are_accepted(settings: Any) -> None:
    settings.MICROSOFT_ALLOWED_HOSTS = ["emulator.internal"]
    assert settings_form(authority_host="https://emulator.internal:8443",
                         graph_url="https://emulator.internal:8443").is_valid()
    settings.MICROSOFT_ALLOWED_HOSTS = []
    assert not settings_form(authority_host="https://emulator.internal:8443").is_valid()


def _elsewhere(emulator: Any) -> str:
    """The emulator under a name that is not allowed: were anything sent, it would arrive and be counted."""
    return emulator.base_url.replace("127.0.0.1", "localhost")


def test_a_graph_url_saved_around_the_form_gets_no_member_token(connect: Connect, emulator: Any,
                                                                microsoft: MicrosoftSettings) -> None:
    user = connect("lee")
    MicrosoftSettings.objects.update(graph_url=_elsewhere(emulator))
    MicrosoftSettings.forget()
    emulator.emulator.requests.clear()
    error = failure("users.get", {"user_id": "me"}, auth_user=user)
    assert error.code == "EndpointNotAllowed" and error.status == 503
    assert sum(emulator.emulator.requests.values()) == 0
    assert account_of(user).status == "active"


def test_an_authority_host_saved_around_the_form_gets_no_client_secret(emulator: Any, microsoft: MicrosoftSettings,
                                                                       client: Client) -> None:
    AppTokenCache(microsoft).clear()
    MicrosoftSettings.objects.update(authority_host=_elsewhere(emulator))
    MicrosoftSettings.forget()
    emulator.emulator.requests.clear()
    assert failure("users.get", {"user_id": "adele@contoso.test"}).code == "EndpointNotAllowed"
    page = client.get("/auth/microsoft/login/")
    assert page.status_code == 503 and "<code>endpoint_not_allowed</code>" in page.content.decode()
    assert sum(emulator.emulator.requests.values()) == 0
