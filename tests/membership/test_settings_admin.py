"""The Microsoft settings admin page, through Django's test client."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from membership.models import MicrosoftSettings, SignInMode
from tests.support.settings import CLIENT_ID, GUID

pytestmark = pytest.mark.django_db

URL = "/admin/membership/microsoftsettings/1/change/"


def post_data(**changes: Any) -> dict[str, Any]:
    data = {
        "enabled": "on",
        "client_id": CLIENT_ID,
        "client_secret": "",
        "client_secret_expires_on": "",
        "tenant": GUID,
        "allowed_tenant_ids": "",
        "default_role": "",
        "authority_host": "https://login.microsoftonline.com",
        "graph_url": "https://graph.microsoft.com",
        "default_scopes": "User.Read",
        "app_tenant_id": GUID,
        "callback_url": "",
        "logout_url": "",
        "failure_url": "",
        "modes-TOTAL_FORMS": "0",
        "modes-INITIAL_FORMS": "0",
        "modes-MIN_NUM_FORMS": "0",
        "modes-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_the_changelist_opens_the_single_settings_row(admin_client: Client) -> None:
    response = admin_client.get("/admin/membership/microsoftsettings/")
    assert response.status_code == 302
    assert response["Location"] == URL
    assert MicrosoftSettings.objects.count() == 1


def test_the_page_renders_with_azure_portal_help(admin_client: Client) -> None:
    MicrosoftSettings.load()
    html = admin_client.get(URL).content.decode()
    assert "Application (client) ID" in html
    assert "Certificates & secrets" in html
    assert "http://testserver/auth/microsoft/callback/" in html


def test_a_new_user_can_fill_in_save_and_reopen_the_settings(admin_client: Client) -> None:
    MicrosoftSettings.load()
    response = admin_client.post(URL, post_data(
        client_secret="first-Secret-Value-9zQ1",
        default_scopes="User.Read, Calendars.ReadWrite openid",
        **{
            "modes-TOTAL_FORMS": "1",
            "modes-0-name": "dev",
            "modes-0-enabled": "on",
            "modes-0-override_default_scopes": "on",
            "modes-0-scopes": "Calendars.Read",
        },
    ), follow=True)
    assert response.status_code == 200
    html = response.content.decode()
    assert "was changed successfully" in html
    assert "Removed openid from Default scopes" in html
    saved = MicrosoftSettings.load()
    assert saved.client_secret == "first-Secret-Value-9zQ1"
    assert saved.default_scopes == "User.Read Calendars.ReadWrite"
    assert SignInMode.objects.get(name="dev").override_default_scopes
    reopened = admin_client.get(URL).content.decode()
    assert CLIENT_ID in reopened
    assert "…9zQ1" in reopened


def test_the_secret_never_appears_in_admin_html(admin_client: Client, ms_settings: MicrosoftSettings) -> None:
    pages = [URL, "/admin/membership/microsoftsettings/", "/admin/", "/admin/membership/microsoftaccount/"]
    for page in pages:
        html = admin_client.get(page, follow=True).content.decode()
        assert "s3cr3t-VALUE-abcd" not in html
        assert "s3cr3t-VALUE" not in html
    # A failed save re-renders the form; the typed secret must not be echoed back.
    html = admin_client.post(URL, post_data(client_secret="new-secret-typed-XYZW", tenant="bad tenant")).content.decode()
    assert "is not a tenant" in html
    assert "new-secret-typed-XYZW" not in html


def test_leaving_the_secret_blank_keeps_the_stored_one(admin_client: Client, ms_settings: MicrosoftSettings) -> None:
    response = admin_client.post(URL, post_data(client_secret="", default_scopes="User.Read Calendars.Read"))
    assert response.status_code == 302
    assert MicrosoftSettings.load().client_secret == "s3cr3t-VALUE-abcd"


def test_typing_a_new_secret_replaces_it(admin_client: Client, ms_settings: MicrosoftSettings) -> None:
    admin_client.post(URL, post_data(client_secret="replacement-secret-0001"))
    assert MicrosoftSettings.load().client_secret == "replacement-secret-0001"


def test_an_expiring_secret_shows_a_warning(admin_client: Client, ms_settings: MicrosoftSettings) -> None:
    ms_settings.client_secret_expires_on = timezone.localdate() + timedelta(days=10)
    ms_settings.save()
    html = admin_client.get(URL).content.decode()
    assert "The client secret expires in 10 days" in html
    ms_settings.client_secret_expires_on = timezone.localdate() + timedelta(days=90)
    ms_settings.save()
    assert "The client secret expires" not in admin_client.get(URL).content.decode()


def test_there_is_no_add_or_delete(admin_client: Client, ms_settings: MicrosoftSettings) -> None:
    assert admin_client.get("/admin/membership/microsoftsettings/add/").status_code == 403
    assert admin_client.get("/admin/membership/microsoftsettings/1/delete/").status_code == 403
    assert "class=\"deletelink\"" not in admin_client.get(URL).content.decode()


def test_field_errors_are_shown_on_the_field(admin_client: Client, ms_settings: MicrosoftSettings) -> None:
    html = admin_client.post(URL, post_data(app_tenant_id="contoso.com", default_scopes="Bad Scope!")).content.decode()
    assert "is not a GUID" in html
    assert "not a valid scope name" in html
    assert MicrosoftSettings.load().app_tenant_id == GUID


def test_a_second_row_cannot_exist(ms_settings: MicrosoftSettings) -> None:
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        MicrosoftSettings.objects.bulk_create([MicrosoftSettings(pk=2)])
    other = MicrosoftSettings(tenant="common")
    other.save()  # save() always targets the single row
    assert MicrosoftSettings.objects.count() == 1


def test_the_admin_keeps_no_request_on_its_shared_instance(admin_client: Client) -> None:
    from django.contrib import admin

    MicrosoftSettings.load()
    model_admin = admin.site._registry[MicrosoftSettings]
    before = dict(vars(model_admin))
    assert "http://testserver/auth/microsoft/callback/" in admin_client.get(URL).content.decode()
    assert admin_client.post(URL, post_data()).status_code in (200, 302)
    assert vars(model_admin) == before  # another thread's request is never seen here
