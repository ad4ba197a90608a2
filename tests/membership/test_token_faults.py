"""The token path when Microsoft is slow, down or refusing, shown with the emulator's fault API.

A refresh holds no database transaction while it waits on Microsoft, every call is bounded by the
timeout policy, and every failure ends as a typed reason (a catalog code for functions).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from membership import identity, tokens
from membership.failures import Reason
from membership.lib.http import lock_ttl, longest_call
from membership.models import MicrosoftAccount, MicrosoftSettings
from tests.support.api import failure
from tests.support.members import Connect, account_of

TOKEN_PATH = "/*/oauth2/v2.0/token"
DISCOVERY_PATH = "/*/v2.0/.well-known/openid-configuration"


def expire(account: MicrosoftAccount) -> None:
    MicrosoftAccount.objects.filter(pk=account.pk).update(access_token_expires_at=timezone.now() - timedelta(seconds=1))


def fault(http: Any, emulator: Any, **spec: Any) -> str:
    response = http.post(f"{emulator.base_url}/_emulator/faults", json=spec)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def wait_until_fired(http: Any, emulator: Any, fault_id: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        faults = http.get(f"{emulator.base_url}/_emulator/faults").json()["faults"]
        if any(f["id"] == fault_id and f["fired"] for f in faults):
            return
        time.sleep(0.05)
    raise AssertionError("the fault never fired")


@pytest.fixture
def cold_process() -> Iterator[None]:
    """As in a process that has not talked to the authority yet: no MSAL app, no cached discovery."""
    identity._apps.clear()
    identity._http_cache.clear()
    cache.clear()
    yield
    identity._apps.clear()
    identity._http_cache.clear()


def refresh_in_thread(account_id: int) -> tuple[threading.Thread, list[Any]]:
    outcome: list[Any] = []

    def run() -> None:
        try:
            outcome.append(tokens.refresh_account(account_id))
        except BaseException as exc:
            outcome.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_other_writes_complete_while_a_refresh_waits_30_s_on_microsoft(
        connect: Connect, emulator: Any, http_emulator: Any, settings: Any) -> None:
    lee, alex = account_of(connect("lee")), account_of(connect("alex"))
    User.objects.create_user("pat", password="correct horse battery staple")
    expire(lee)
    settings.MICROSOFT_READ_TIMEOUT = 45
    slow = fault(http_emulator, emulator, kind="latency", latency_ms=30_000, path=TOKEN_PATH, count=1)
    thread, outcome = refresh_in_thread(lee.pk)
    try:
        wait_until_fired(http_emulator, emulator, slow)
        started = time.monotonic()
        MicrosoftAccount.objects.filter(pk=alex.pk).update(last_error="a write by another request")
        signed_in = Client().post(reverse("membership_site:password_login"),
                                  {"username": "pat", "password": "correct horse battery staple"})
        elapsed = time.monotonic() - started
        assert signed_in.status_code == 302  # the password sign-in wrote its session and last_login
        assert elapsed < 2, f"writes waited {elapsed:.1f} s behind the refresh"
        assert thread.is_alive()  # the refresh is still waiting on Microsoft
    finally:
        thread.join(timeout=60)
    assert isinstance(outcome[0], MicrosoftAccount) and outcome[0].status == "active"
    assert MicrosoftAccount.objects.get(pk=alex.pk).last_error == "a write by another request"


def test_a_hanging_token_endpoint_is_a_timeout_within_the_configured_bound(
        connect: Connect, emulator: Any, http_emulator: Any, settings: Any) -> None:
    user = connect("lee")
    expire(account_of(user))
    settings.MICROSOFT_READ_TIMEOUT = 2
    fault(http_emulator, emulator, kind="latency", latency_ms=20_000, path=TOKEN_PATH, count=1)
    started = time.monotonic()
    error = failure("users.get", {"user_id": "me"}, auth_user=user)
    elapsed = time.monotonic() - started
    assert error.code == "Timeout" and error.status == 504
    assert elapsed < longest_call() + 1.5, f"took {elapsed:.1f} s"
    account = MicrosoftAccount.objects.get(user=user)
    assert account.status == "active"  # an outage is no reason to make the member reconnect


def test_a_hanging_token_endpoint_bounds_the_application_token_too(
        microsoft: MicrosoftSettings, emulator: Any, http_emulator: Any, settings: Any) -> None:
    from graphfns.app_tokens import AppTokenCache

    AppTokenCache(microsoft).clear()
    settings.MICROSOFT_READ_TIMEOUT = 2
    fault(http_emulator, emulator, kind="latency", latency_ms=20_000, path=TOKEN_PATH, count=1)
    started = time.monotonic()
    error = failure("users.get", {"user_id": "adele@contoso.test"})
    assert error.code == "Timeout"
    assert time.monotonic() - started < longest_call() + 1.5


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the lock's expiry is Redis's; the file lock has none")
def test_the_account_lock_outlives_the_slowest_call_made_under_it(
        connect: Connect, emulator: Any, http_emulator: Any, settings: Any) -> None:
    import redis

    account = account_of(connect("lee"))
    expire(account)
    settings.MICROSOFT_READ_TIMEOUT = 4
    slow = fault(http_emulator, emulator, kind="latency", latency_ms=3_000, path=TOKEN_PATH, count=1)
    thread, outcome = refresh_in_thread(account.pk)
    try:
        wait_until_fired(http_emulator, emulator, slow)
        ttl_ms = redis.Redis.from_url(settings.REDIS_URL).pttl(f"lock:ms-account:{account.pk}")
    finally:
        thread.join(timeout=30)
    assert ttl_ms > 2 * longest_call() * 1000  # discovery and the token request could both be slow
    assert lock_ttl() * 1000 >= ttl_ms
    assert isinstance(outcome[0], MicrosoftAccount)


@pytest.mark.parametrize(("spec", "code"), [
    ({"kind": "status", "status": 503}, "UpstreamUnavailable"),
    ({"kind": "status", "status": 500}, "UpstreamUnavailable"),
    ({"kind": "reset"}, "UpstreamUnavailable"),
    ({"kind": "latency", "latency_ms": 5_000}, "Timeout"),
])
def test_token_endpoint_outages_are_transient_catalog_errors(
        connect: Connect, emulator: Any, http_emulator: Any, settings: Any, spec: dict[str, Any], code: str) -> None:
    user, other = connect("lee"), connect("alex")
    expire(account_of(user))
    expire(account_of(other))
    settings.MICROSOFT_READ_TIMEOUT = 1
    fault(http_emulator, emulator, path=TOKEN_PATH, count=1, **spec)
    with pytest.raises(tokens.RefreshFailed) as excinfo:
        tokens.access_token(MicrosoftAccount.objects.get(user=user))
    assert excinfo.value.reason.transient and not excinfo.value.permanent
    account = MicrosoftAccount.objects.get(user=user)
    assert account.status == "active"
    # The same outage seen through a function: a catalog code, never InternalError.
    fault(http_emulator, emulator, path=TOKEN_PATH, count=1, **spec)
    assert failure("users.get", {"user_id": "me"}, auth_user=other).code == code


@pytest.mark.parametrize(("spec", "code"), [
    ({"kind": "status", "status": 503}, "UpstreamUnavailable"),
    ({"kind": "reset"}, "UpstreamUnavailable"),
    ({"kind": "status", "status": 404}, "TenantNotFound"),
])
def test_a_discovery_failure_while_building_the_msal_app_is_a_catalog_error(
        connect: Connect, emulator: Any, http_emulator: Any, cold_process: None, spec: dict[str, Any], code: str) -> None:
    user = connect("lee")
    expire(account_of(user))
    identity._apps.clear()
    identity._http_cache.clear()
    fault(http_emulator, emulator, path=DISCOVERY_PATH, count=1, **spec)
    assert failure("users.get", {"user_id": "me"}, auth_user=user).code == code
    assert MicrosoftAccount.objects.get(user=user).status == "active"


def test_a_rejected_client_secret_is_invalid_client_credentials(
        connect: Connect, microsoft: MicrosoftSettings) -> None:
    user = connect("lee")
    expire(account_of(user))
    microsoft.client_secret = "not-the-secret"
    microsoft.save()
    error = failure("users.get", {"user_id": "me"}, auth_user=user)
    assert error.code == "InvalidClientCredentials" and error.status == 503
    assert error.details["aad_code"] == "AADSTS7000215"
    account = MicrosoftAccount.objects.get(user=user)
    assert account.status == "active"  # the site's secret is wrong, not the member's grant
    assert "AADSTS7000215" in account.last_error


def test_tokens_written_with_a_lost_key_make_the_account_need_reconsent(
        connect: Connect, microsoft: MicrosoftSettings, settings: Any) -> None:
    user = connect("lee")
    old = list(settings.FIELD_ENCRYPTION_KEY)
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = [new, *old]
    ms = MicrosoftSettings.load()
    ms.client_secret = ms.client_secret  # re-encrypt the secret (only) with the new key
    ms.save()
    settings.FIELD_ENCRYPTION_KEY = [new]  # the tokens' key is gone; the secret's is here
    error = failure("users.get", {"user_id": "me"}, auth_user=user)
    assert error.code == "RefreshTokenInvalid"
    account = MicrosoftAccount.objects.get(user=user)
    assert account.status == "needs_reconsent"
    assert "FIELD_ENCRYPTION_KEY" in account.last_error


def test_a_wrong_key_is_reported_and_changes_no_account(connect: Connect, settings: Any) -> None:
    user = connect("lee")
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]
    error = failure("users.get", {"user_id": "me"}, auth_user=user)
    assert error.code == "UndecryptableSecret" and error.status == 503
    assert "FIELD_ENCRYPTION_KEY" in error.message
    account = MicrosoftAccount.objects.get(user=user)
    assert account.status == "active" and account.last_error == ""
    with pytest.raises(tokens.RefreshFailed) as excinfo:
        tokens.refresh_account(account.pk)
    assert excinfo.value.reason is Reason.ENCRYPTION_KEY


def test_an_account_disconnected_during_a_refresh_stays_disconnected(
        connect: Connect, emulator: Any, http_emulator: Any) -> None:
    from membership.accounts import disconnect

    account = account_of(connect("lee"))
    expire(account)
    slow = fault(http_emulator, emulator, kind="latency", latency_ms=1_500, path=TOKEN_PATH, count=1)
    thread, outcome = refresh_in_thread(account.pk)
    wait_until_fired(http_emulator, emulator, slow)
    disconnect(MicrosoftAccount.objects.get(pk=account.pk))  # the member clicks Disconnect meanwhile
    thread.join(timeout=30)
    assert isinstance(outcome[0], tokens.NotConnected)
    stored = MicrosoftAccount.objects.with_tokens().get(pk=account.pk)
    assert stored.status == "revoked" and stored.refresh_token == "" and stored.access_token == ""
