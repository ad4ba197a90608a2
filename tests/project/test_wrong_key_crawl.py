"""A wrong FIELD_ENCRYPTION_KEY degrades the site instead of taking it down.

The database is filled while one key is configured, then the key is swapped for a new one (as
after a lost or mistyped key). Every page and API call must still answer: those that need the
client secret answer 503 with a catalog code, the others work, and none shows a secret.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.db import connection
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from graphfns.models import ApiKey, FunctionCall
from membership.models import MicrosoftAccount, MicrosoftSettings, RefreshSweep, SignInMode
from tests.support.settings import GUID

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-VALUE-abcd"  # the ms_settings fixture's
ACCESS_TOKEN = "AT-plain-crawl-7f3e9a"
REFRESH_TOKEN = "RT-plain-crawl-c41d02"
PASSWORD = "member-Passw0rd-8812"
OBJECT_ID = "0a1b2c3d-0000-4000-8000-000000000001"


@dataclass
class Site:
    member: User
    account: MicrosoftAccount
    api_key: str


@pytest.fixture
def site(ms_settings: MicrosoftSettings) -> Site:
    """A site in use: settings with a secret and a sign-in mode, a member whose Microsoft account
    holds tokens, an API key, a refresh sweep and call-log rows."""
    ms_settings.default_role = Group.objects.create(name="Members")
    ms_settings.save()
    SignInMode.objects.create(settings=ms_settings, name="dev", scopes="Calendars.Read")
    member = User.objects.create_user("lee", "lee@example.test", PASSWORD)
    now = timezone.now()
    account = MicrosoftAccount.objects.create(
        user=member, tenant_id=GUID, object_id=OBJECT_ID, username="lee@contoso.test", display_name="Lee Gu",
        granted_scopes="openid profile offline_access User.Read Calendars.Read",
        access_token=ACCESS_TOKEN, access_token_expires_at=now + timedelta(hours=1),
        refresh_token=REFRESH_TOKEN, last_refreshed_at=now,
    )
    _, api_key = ApiKey.issue("crawler")
    RefreshSweep.objects.create(renewed_before=now, finished_at=now, due=1, refreshed=1, batches=1, batches_done=1)
    FunctionCall.objects.create(function="users.get", caller="api-key:crawler", acting_user=member,
                                mode="delegated", status=FunctionCall.Status.OK)
    FunctionCall.objects.create(function="users.list", caller="cli", mode="application",
                                status=FunctionCall.Status.ERROR, error_code="UpstreamUnavailable")
    return Site(member, account, api_key)


@pytest.fixture
def wrong_key(settings: Any, site: Site) -> Site:
    """The same site, now configured with a key that decrypts none of its stored secrets."""
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    MicrosoftSettings.forget()  # the settings row is memoised for a few seconds
    return site


class Crawl:
    """Requests made with one client, each answer kept for the assertions at the end."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.answers: dict[str, HttpResponse] = {}

    def get(self, url: str, data: Any = None, **kwargs: Any) -> HttpResponse:
        response = self.client.get(url, data, **kwargs)
        self.answers[f"GET {url}"] = response
        return response

    def post(self, url: str, data: Any = None, **kwargs: Any) -> HttpResponse:
        response = self.client.post(url, data, **kwargs)
        self.answers[f"POST {url}"] = response
        return response

    def assert_no_server_errors(self, designed: Collection[str] = ()) -> None:
        """No 5xx but the ``designed`` 503s (request labels); no body holds a secret or a token."""
        failed = {label: r.status_code for label, r in self.answers.items()
                  if r.status_code >= 500 and label not in designed}
        assert not failed, failed
        for label in designed:
            assert self.answers[label].status_code == 503, label
        for label, response in self.answers.items():
            body = response.content.decode(errors="replace")
            for secret in (SECRET, ACCESS_TOKEN, REFRESH_TOKEN):
                assert secret not in body, f"{label} shows a secret"


def client_for(user: User | None = None) -> Client:
    client = Client(raise_request_exception=False)  # a crash is a 500 to count, not a test error
    if user is not None:
        client.force_login(user)
    return client


def raw_secret() -> str:
    """The client_secret column as stored (ciphertext)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT client_secret FROM membership_microsoftsettings WHERE id = 1")
        return str(cursor.fetchone()[0])


def settings_page() -> str:
    return reverse("admin:membership_microsoftsettings_change", args=[1])


def settings_form(**changes: str) -> dict[str, str]:
    """The Microsoft settings page as the ms_settings fixture filled it, with ``changes``."""
    ms = MicrosoftSettings.load()
    data = {
        "enabled": "on", "client_id": ms.client_id, "client_secret": "", "client_secret_expires_on": "",
        "tenant": ms.tenant, "allowed_tenant_ids": "", "default_role": str(ms.default_role_id or ""),
        "authority_host": ms.authority_host, "graph_url": ms.graph_url, "default_scopes": ms.default_scopes,
        "app_tenant_id": ms.app_tenant_id, "callback_url": "", "logout_url": "", "failure_url": "",
        "modes-TOTAL_FORMS": "0", "modes-INITIAL_FORMS": "0", "modes-MIN_NUM_FORMS": "0",
        "modes-MAX_NUM_FORMS": "1000",
    }
    data.update(changes)
    return data


def test_site_pages_answer_and_sign_in_is_a_503_naming_the_key(wrong_key: Site) -> None:
    crawl = Crawl(client_for())
    crawl.get(reverse("membership_site:home"))
    crawl.get(reverse("membership_site:signin"))
    crawl.get(reverse("membership_site:password_login"))
    signed_in = crawl.post(reverse("membership_site:password_login"), {"username": "lee", "password": PASSWORD})
    assert signed_in.status_code == 302
    sign_in = f"GET {reverse('membership:login')}"
    crawl.get(reverse("membership:login"))
    crawl.get(reverse("membership:callback"), {"code": "x", "state": "y"})
    crawl.get(reverse("membership:admin_consent"))
    crawl.get(reverse("membership:consent"), {"scopes": "Mail.Read"})
    crawl.post(reverse("membership:logout"))
    needs_the_secret = {
        sign_in, f"GET {reverse('membership:callback')}", f"GET {reverse('membership:admin_consent')}",
        f"GET {reverse('membership:consent')}",
    }
    crawl.assert_no_server_errors(designed=needs_the_secret)
    for label in needs_the_secret:
        assert "<code>secret_unreadable</code>" in crawl.answers[label].content.decode(), label
    assert "cannot be decrypted with FIELD_ENCRYPTION_KEY" in crawl.answers[sign_in].content.decode()


def test_member_pages_and_delegated_calls_answer(wrong_key: Site) -> None:
    crawl = Crawl(client_for(wrong_key.member))
    account_page = crawl.get(reverse("membership_site:account"))
    call = crawl.post(reverse("graphfns:execute", args=["users.get"]),
                      {"params": {"user_id": "me"}, "auth_user_id": wrong_key.member.pk},
                      content_type="application/json", headers={"authorization": f"Bearer {wrong_key.api_key}"})
    crawl.assert_no_server_errors(designed={f"POST {reverse('graphfns:execute', args=['users.get'])}"})
    assert account_page.status_code == 200
    assert "Calendar unavailable (UndecryptableSecret)" in account_page.content.decode()
    assert call.status_code == 503 and call.json()["error"]["code"] == "UndecryptableSecret"
    # The key is wrong, not the member's tokens: nobody is asked to reconnect.
    assert set(MicrosoftAccount.objects.values_list("status", flat=True)) == {"active"}


def test_the_api_answers_and_application_calls_are_undecryptable_secret(wrong_key: Site) -> None:
    crawl = Crawl(client_for())
    bearer = {"authorization": f"Bearer {wrong_key.api_key}"}
    crawl.get(reverse("graphfns:functions"))
    crawl.get(reverse("graphfns:function", args=["users.get"]))
    crawl.get(reverse("graphfns:openapi"))
    call = crawl.post(reverse("graphfns:execute", args=["users.get"]), {"params": {"user_id": "lee@contoso.test"}},
                      content_type="application/json", headers=bearer)
    crawl.post(reverse("graphfns:clear-cache"), headers=bearer)
    crawl.assert_no_server_errors(designed={f"POST {reverse('graphfns:execute', args=['users.get'])}"})
    assert call.json()["error"]["code"] == "UndecryptableSecret"
    assert "FIELD_ENCRYPTION_KEY" in call.json()["error"]["message"]
    assert FunctionCall.objects.filter(error_code="UndecryptableSecret").exists()


def test_every_admin_page_answers(wrong_key: Site, admin_user: User) -> None:
    crawl = Crawl(client_for(admin_user))
    crawl.get(reverse("admin:index"))
    request = RequestFactory().get(reverse("admin:index"))
    request.user = admin_user
    for model, model_admin in admin.site._registry.items():
        name = f"{model._meta.app_label}_{model._meta.model_name}"
        crawl.get(reverse(f"admin:{name}_changelist"), follow=True)
        crawl.get(reverse(f"admin:{name}_add"))  # 403 where adding is not allowed
        obj = model_admin.get_queryset(request).order_by("pk").first()
        if obj is not None:
            crawl.get(reverse(f"admin:{name}_change", args=[obj.pk]))
            crawl.get(reverse(f"admin:{name}_history", args=[obj.pk]))
            if model_admin.has_delete_permission(request, obj):
                crawl.get(reverse(f"admin:{name}_delete", args=[obj.pk]))  # lists what else would go
    checks = crawl.post(reverse("admin:membership_microsoftsettings_test_configuration", args=[1]))
    crawl.post(reverse("admin:membership_microsoftsettings_clear_cache", args=[1]), follow=True)
    crawl.post(reverse("admin:membership_refreshsweep_run"), follow=True)
    crawl.post(reverse("admin:graphfns_functioncall_purge"), follow=True)
    crawl.assert_no_server_errors()
    deleting_member = crawl.answers[f"GET {reverse('admin:auth_user_delete', args=[wrong_key.member.pk])}"]
    assert "lee@contoso.test" in deleting_member.content.decode()  # the member's Microsoft account is listed

    assert "cannot be decrypted with FIELD_ENCRYPTION_KEY" in checks.content.decode()
    assert "Restore the key it was written with" in checks.content.decode()
    member_page = crawl.answers[f"GET {reverse('admin:auth_user_change', args=[wrong_key.member.pk])}"]
    assert "Directory roles could not be read" in member_page.content.decode()
    assert "UndecryptableSecret" in member_page.content.decode()


def test_the_settings_page_warns_and_takes_a_new_secret(wrong_key: Site, admin_client: Client) -> None:
    html = admin_client.get(settings_page()).content.decode()
    assert html.count("cannot be decrypted with FIELD_ENCRYPTION_KEY") >= 2  # the message and "Stored secret"
    response = admin_client.post(settings_page(), settings_form(client_secret="new-Secret-Value-77Aa"))
    assert response.status_code == 302
    assert MicrosoftSettings.load().client_secret == "new-Secret-Value-77Aa"  # under the new key
    assert "cannot be decrypted" not in admin_client.get(settings_page()).content.decode()


def test_saving_the_settings_with_the_secret_blank_keeps_its_ciphertext(wrong_key: Site,
                                                                        admin_client: Client) -> None:
    stored = raw_secret()
    response = admin_client.post(settings_page(), settings_form(default_scopes="User.Read Mail.Read"))
    assert response.status_code == 302
    assert raw_secret() == stored  # the old key, restored, reads it again
    assert MicrosoftSettings.load().default_scopes == "User.Read Mail.Read"


def test_the_command_shows_and_replaces_an_undecryptable_secret(wrong_key: Site) -> None:
    stored = raw_secret()
    out = StringIO()
    call_command("microsoft_settings", stdout=out)
    assert "cannot be decrypted with FIELD_ENCRYPTION_KEY" in out.getvalue()
    call_command("microsoft_settings", "--default-scopes", "User.Read Mail.Read", stdout=StringIO())
    assert raw_secret() == stored
    out = StringIO()
    call_command("microsoft_settings", "--client-secret", "cli-Secret-Value-91Zz", stdout=out)
    assert "…91Zz" in out.getvalue()
    assert MicrosoftSettings.load().client_secret == "cli-Secret-Value-91Zz"


def test_the_configuration_check_names_the_key(wrong_key: Site) -> None:
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("graph", "check", stdout=out)
    assert "✘ Microsoft settings: The stored client secret cannot be decrypted with FIELD_ENCRYPTION_KEY." \
        in out.getvalue()
    assert SECRET not in out.getvalue()
