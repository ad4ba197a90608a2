"""The apps mounted under another site's prefixes, without membership.site_urls: every URL they print,
redirect to or document follows the mount."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from graphfns.openapi import document
from membership.conf import conf
from membership.models import MicrosoftAccount, MicrosoftSettings

PREFIXED = override_settings(ROOT_URLCONF="tests.support.prefixed_urls", LOGIN_URL="membership:login",
                             LOGIN_REDIRECT_URL="/members/home/")


@PREFIXED
def test_the_openapi_document_follows_where_graphfns_urls_is_mounted() -> None:
    paths = document()["paths"]
    assert "/graph-api/functions/" in paths and "/graph-api/functions/users.get/execute" in paths
    assert all(p.startswith("/graph-api/") for p in paths)


@PREFIXED
def test_unknown_api_paths_name_the_mounted_api(db: None) -> None:
    body = Client().get("/graph-api/nothing-here").json()
    assert body["error"]["code"] == "UnknownFunction"
    assert "/graph-api/nothing-here" in body["error"]["message"] and "/graph-api/openapi.json" in body["error"]["message"]


@PREFIXED
def test_without_the_site_pages_members_are_sent_to_the_sites_own_pages() -> None:
    assert conf.account_url() == "/members/home/"  # LOGIN_REDIRECT_URL
    with override_settings(MEMBERSHIP_ACCOUNT_URL="/profile/microsoft/"):
        assert conf.account_url() == "/profile/microsoft/"
    assert conf.home_url() == "/"


def test_with_the_site_pages_the_account_page_is_theirs() -> None:
    assert conf.account_url() == "/account/"
    assert conf.home_url() == "/"


@PREFIXED
def test_the_admin_shows_the_redirect_uri_under_the_prefix(admin_client: Client, ms_settings: MicrosoftSettings) -> None:
    page = admin_client.get(f"/staff/membership/microsoftsettings/{ms_settings.pk}/change/")
    assert page.status_code == 200
    assert "http://testserver/microsoft/callback/" in page.content.decode()


@PREFIXED
def test_disconnecting_lands_on_the_sites_account_page(db: None, django_user_model: Any) -> None:
    member = django_user_model.objects.create_user("pat", password="a-long-password-1")
    account = MicrosoftAccount.objects.create(user=member, tenant_id="t", object_id="o", username="pat@contoso")
    client = Client()
    client.force_login(member)
    answer = client.post(f"/microsoft/accounts/{account.pk}/disconnect/")
    assert answer.status_code == 302 and answer["Location"] == "/members/home/"


@PREFIXED
@pytest.mark.parametrize("path", ["/", "/signin/", "/account/"])
def test_the_site_pages_are_only_there_when_included(client: Client, path: str, db: None) -> None:
    assert client.get(path).status_code == 404
