"""The reference site's user admin is its own, with the apps' opt-in parts: graphfns and membership
add to it only through MemberGraphAdminMixin and MicrosoftAccountInline, never by replacing it."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from graphfns.admin import MemberGraphAdminMixin
from membership.admin import MicrosoftAccountInline
from membership.models import MicrosoftAccount


def test_the_user_admin_is_the_sites_with_the_apps_parts() -> None:
    reverse("admin:index")  # the site's URLconf (and so project/admin.py) is loaded
    registered = admin.site._registry[User]
    assert type(registered).__module__ == "project.admin"
    assert isinstance(registered, MemberGraphAdminMixin)
    assert MicrosoftAccountInline in registered.inlines


def test_the_user_page_lists_the_members_microsoft_accounts_without_tokens(admin_client: Client) -> None:
    member = User.objects.create_user("pat")
    MicrosoftAccount.objects.create(user=member, tenant_id="t", object_id="o", username="pat@contoso.test",
                                    access_token="secret-access-token")
    page = admin_client.get(reverse("admin:auth_user_change", args=[member.pk])).content.decode()
    assert "Microsoft accounts" in page and "pat@contoso.test" in page
    assert "secret-access-token" not in page
