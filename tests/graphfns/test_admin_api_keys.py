"""API keys in the admin: made with limits, shown once, stored hashed, revoked."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from graphfns.models import ApiKey, hash_key

pytestmark = pytest.mark.django_db

ADD = "/admin/graphfns/apikey/add/"
LIST = "/admin/graphfns/apikey/"


def make_key(client: Client, **fields: Any) -> tuple[ApiKey, str, str]:
    data = {"name": "intranet sync job", "allowed_functions": "", **fields}
    response = client.post(ADD, data)
    assert response.status_code == 200, response.content
    html = response.content.decode()
    secret = re.search(r'id="api-key"[^>]*value="([^"]+)"', html).group(1)
    return ApiKey.objects.get(name=data["name"]), secret, html


def test_a_new_key_is_shown_once_and_only_its_hash_is_stored(admin_client: Client) -> None:
    key, secret, html = make_key(admin_client, allowed_functions="users.get\ncalendar.*", delegated_only="on")
    assert secret.startswith("gfn_")
    assert "it is shown only this once" in html
    assert key.key_hash == hash_key(secret)
    assert secret not in {key.name, key.prefix, key.allowed_functions, key.key_hash}
    assert secret.startswith(key.prefix)
    assert key.allowed_functions == "users.get\ncalendar.*"
    assert key.delegated_only
    assert ApiKey.authenticate(secret) == key
    assert "no-store" in admin_client.post(ADD, {"name": "second"})["Cache-Control"]

    for page in [LIST, f"{LIST}{key.pk}/change/", f"{LIST}?q=intranet", "/admin/"]:
        shown = admin_client.get(page).content.decode()
        assert secret not in shown
        assert key.key_hash not in shown


def test_the_list_shows_prefix_last_use_and_revocation(admin_client: Client) -> None:
    key, secret, _ = make_key(admin_client)
    ApiKey.authenticate(secret)
    html = admin_client.get(LIST).content.decode()
    assert f"{key.prefix}…" in html
    assert "intranet sync job" in html
    assert "all" in html  # no function limits
    assert re.search(r'class="field-last_used_at nowrap">[A-Z][a-z]{2}\.? \d', html)
    assert re.search(r'class="field-revoked"><img [^>]*alt="False"', html)
    ApiKey.objects.filter(pk=key.pk).update(revoked_at=timezone.now())
    assert re.search(r'class="field-revoked"><img [^>]*alt="True"', admin_client.get(LIST).content.decode())


def test_unknown_function_names_are_refused(admin_client: Client) -> None:
    html = admin_client.post(ADD, {"name": "typo", "allowed_functions": "users.gett, mail.*"}).content.decode()
    assert "No such function: users.gett, mail.*" in html
    assert not ApiKey.objects.exists()
    assert 'id="api-key"' not in html


def test_the_revoke_action_revokes_and_the_key_stops_working(admin_client: Client) -> None:
    key, secret, _ = make_key(admin_client)
    other, other_secret = ApiKey.issue("kept")
    response = admin_client.post(LIST, {"action": "revoke", "_selected_action": [key.pk]}, follow=True)
    assert "Revoked 1 API key." in response.content.decode()
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert ApiKey.authenticate(secret) is None
    assert ApiKey.authenticate(other_secret) == other
    assert admin_client.get(LIST, {"revoked": "yes"}).context["cl"].result_count == 1


def test_revoking_again_keeps_the_first_revocation_time(admin_client: Client) -> None:
    key, _ = ApiKey.issue("old", revoked_at=timezone.now() - timedelta(days=3))
    before = key.revoked_at
    admin_client.post(LIST, {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at == before


def test_the_change_page_edits_limits_but_never_the_key(admin_client: Client) -> None:
    key, secret, _ = make_key(admin_client)
    url = f"{LIST}{key.pk}/change/"
    html = admin_client.get(url).content.decode()
    assert 'name="key_hash"' not in html
    assert 'name="prefix"' not in html
    response = admin_client.post(url, {"name": "renamed", "allowed_functions": "users.*"})
    assert response.status_code == 302
    key.refresh_from_db()
    assert (key.name, key.allowed_functions, key.key_hash) == ("renamed", "users.*", hash_key(secret))
