"""The Microsoft settings page's "Test configuration" and "Clear Microsoft functions cache" buttons."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

import graphfns
from membership.models import MicrosoftSettings

CHANGE = "/admin/membership/microsoftsettings/1/change/"
TEST = "/admin/membership/microsoftsettings/1/test-configuration/"
CLEAR = "/admin/membership/microsoftsettings/1/clear-cache/"


def test_the_settings_page_offers_both_buttons_as_csrf_protected_posts(admin_client: Client,
                                                                      microsoft: MicrosoftSettings) -> None:
    html = admin_client.get(CHANGE).content.decode()
    assert f'<form method="post" action="{TEST}">' in html
    assert f'<form method="post" action="{CLEAR}">' in html
    assert "Test configuration</button>" in html
    assert "Clear Microsoft functions cache</button>" in html
    assert html.count("csrfmiddlewaretoken") >= 3  # the settings form and both buttons


def test_a_good_configuration_reports_every_check_passed(admin_client: Client, microsoft: MicrosoftSettings,
                                                        emulator: Any) -> None:
    response = admin_client.post(TEST)
    assert response.status_code == 200
    html = response.content.decode()
    assert "All 4 checks passed" in html
    assert html.count("✔") >= 4
    assert "✘" not in html
    assert "Client secret and application token" in html
    assert "How to fix" not in html
    assert emulator.info["client_secret"] not in html


def test_a_wrong_secret_reports_the_failed_check_and_how_to_fix_it(admin_client: Client,
                                                                  microsoft: MicrosoftSettings,
                                                                  emulator: Any) -> None:
    microsoft.client_secret = "not-the-secret-at-all-0042"
    microsoft.save()
    html = admin_client.post(TEST).content.decode()
    assert "✘" in html
    assert "1 of the 3 checks run failed. Fix it as described" in html
    assert "InvalidClientCredentials" in html
    assert "How to fix:" in html
    assert "Create a new secret in the Azure portal" in html
    assert "not-the-secret-at-all-0042" not in html
    assert emulator.info["client_secret"] not in html


def test_clearing_the_cache_makes_the_next_application_call_get_a_new_token(admin_client: Client,
                                                                           microsoft: MicrosoftSettings,
                                                                           emulator: Any) -> None:
    graphfns.execute("users.get", {"user_id": "adele@contoso.test"})  # a token is cached (perhaps already was)
    emulator.emulator.grants.clear()
    graphfns.execute("users.get", {"user_id": "adele@contoso.test"})
    assert emulator.emulator.grants["client_credentials"] == 0

    response = admin_client.post(CLEAR, follow=True)
    assert response.redirect_chain == [(CHANGE, 302)]
    assert "Cleared the Microsoft functions cache" in response.content.decode()

    graphfns.execute("users.get", {"user_id": "adele@contoso.test"})
    graphfns.execute("users.get", {"user_id": "adele@contoso.test"})
    assert emulator.emulator.grants["client_credentials"] == 1


def test_the_buttons_refuse_get(admin_client: Client, microsoft: MicrosoftSettings) -> None:
    assert admin_client.get(TEST).status_code == 405
    assert admin_client.get(CLEAR).status_code == 405


def test_the_buttons_need_a_csrf_token(admin_user: Any, microsoft: MicrosoftSettings) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.post(TEST).status_code == 403
    assert client.post(CLEAR).status_code == 403


@pytest.mark.parametrize("codenames", [["view_microsoftsettings"], []])
def test_staff_without_change_permission_cannot_use_the_buttons(django_user_model: Any, microsoft: MicrosoftSettings,
                                                               codenames: list[str]) -> None:
    staff = django_user_model.objects.create_user("viewer", password="pw-irrelevant-123", is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(staff)
    assert client.post(TEST).status_code == 403
    assert client.post(CLEAR).status_code == 403
    if codenames:
        html = client.get(CHANGE).content.decode()
        assert "Test configuration</button>" not in html
