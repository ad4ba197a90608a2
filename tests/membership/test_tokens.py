"""The token store: reuse while fresh, one refresh across concurrent callers, failures classified."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from membership import tokens
from membership.models import MicrosoftAccount
from tests.support.members import Connect, account_of


def expire(account: MicrosoftAccount) -> None:
    account.access_token_expires_at = timezone.now() - timedelta(seconds=1)
    account.save()


def test_a_fresh_access_token_is_reused_without_asking_microsoft(connect: Connect, emulator: Any) -> None:
    account = account_of(connect("lee"))
    emulator.emulator.grants.clear()
    assert tokens.access_token(account) == account.access_token
    assert emulator.emulator.grants["refresh_token"] == 0


def test_concurrent_callers_redeem_the_refresh_token_once(connect: Connect, emulator: Any) -> None:
    account = account_of(connect("lee"))
    expire(account)
    emulator.emulator.strict_rotation = True  # a redeemed refresh token is dead: a second redemption fails
    emulator.emulator.grants.clear()
    results: list[str] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            fresh = MicrosoftAccount.objects.get(pk=account.pk)
            results.append(tokens.access_token(fresh))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert len(set(results)) == 1 and len(results) == 6
    assert emulator.emulator.grants["refresh_token"] == 1
    account.refresh_from_db()
    assert account.status == "active"


def test_a_sweep_refresh_rotates_the_refresh_token_once(connect: Connect, emulator: Any) -> None:
    account = account_of(connect("lee"))
    before = account.refresh_token
    account.last_refreshed_at = timezone.now() - timedelta(days=8)
    account.save()
    cutoff = timezone.now() - timedelta(days=7)
    refreshed = tokens.refresh_account(account.pk, renewed_before=cutoff)
    assert refreshed.refresh_token != before
    assert refreshed.last_refreshed_at > timezone.now() - timedelta(minutes=1)
    emulator.emulator.grants.clear()
    again = tokens.refresh_account(account.pk, renewed_before=cutoff)  # a redelivered sweep: nothing to do
    assert again.refresh_token == refreshed.refresh_token
    assert emulator.emulator.grants["refresh_token"] == 0


@pytest.mark.parametrize("code", [700082, 50173, 65001])
def test_a_dead_grant_needs_reconsent_and_sends_the_signal(connect: Connect, emulator: Any, http_emulator: Any, code: int) -> None:
    from membership.signals import account_needs_reconsent

    account = account_of(connect("lee"))
    expire(account)
    http_emulator.post(f"{emulator.base_url}/_emulator/users/lee@contoso.test/invalid-grant", json={"code": code})
    received: list[MicrosoftAccount] = []

    def on_reconsent(sender: Any, account: MicrosoftAccount, **kwargs: Any) -> None:
        received.append(account)

    account_needs_reconsent.connect(on_reconsent)
    try:
        with pytest.raises(tokens.RefreshFailed) as excinfo:
            tokens.access_token(account)
    finally:
        account_needs_reconsent.disconnect(on_reconsent)
    assert excinfo.value.permanent
    assert excinfo.value.aad_code == f"AADSTS{code}"
    account.refresh_from_db()
    assert account.status == "needs_reconsent"
    assert [a.pk for a in received] == [account.pk]


@pytest.mark.parametrize("code", [50076, 50079])
def test_mfa_required_on_refresh_asks_the_member_to_sign_in_again_not_to_consent(
        connect: Connect, emulator: Any, http_emulator: Any, code: int) -> None:
    account = account_of(connect("lee"))
    expire(account)
    http_emulator.post(f"{emulator.base_url}/_emulator/users/lee@contoso.test/invalid-grant", json={"code": code})
    with pytest.raises(tokens.RefreshFailed) as excinfo:
        tokens.access_token(account)
    assert excinfo.value.permanent and excinfo.value.aad_code == f"AADSTS{code}"
    account.refresh_from_db()
    assert account.status == "needs_reconsent"
    assert "sign in again" in account.last_error and "multi-factor authentication / Conditional Access" in account.last_error
    assert "consent" not in account.last_error.lower()
    assert account.get_status_display() == "Sign-in needed"  # what the member and the admin read, not "consent"


def test_a_conditional_access_block_on_refresh_is_explained_for_an_administrator(
        connect: Connect, emulator: Any, http_emulator: Any) -> None:
    account = account_of(connect("lee"))
    expire(account)
    http_emulator.post(f"{emulator.base_url}/_emulator/users/lee@contoso.test/invalid-grant", json={"code": 53003})
    with pytest.raises(tokens.RefreshFailed):
        tokens.access_token(account)
    account.refresh_from_db()
    assert account.status == "needs_reconsent"
    assert "Conditional Access policy" in account.last_error and "administrator" in account.last_error
    assert "AADSTS53003" in account.last_error


def test_an_unreachable_authority_is_a_temporary_failure(connect: Connect, emulator: Any, http_emulator: Any) -> None:
    account = account_of(connect("lee"))
    expire(account)
    http_emulator.post(f"{emulator.base_url}/_emulator/faults",
                       json={"kind": "status", "status": 503, "path": "/*/oauth2/v2.0/token", "count": 1})
    with pytest.raises(tokens.RefreshFailed) as excinfo:
        tokens.access_token(account)
    assert not excinfo.value.permanent
    account.refresh_from_db()
    assert account.status == "active"


def test_a_disconnected_account_is_not_connected(connect: Connect) -> None:
    account = account_of(connect("lee"))
    account.disconnect()
    with pytest.raises(tokens.NotConnected):
        tokens.access_token(account)


def test_a_member_disabled_in_entra_needs_sign_in_and_the_reason_says_so(
        connect: Connect, emulator: Any, http_emulator: Any) -> None:
    account = account_of(connect("lee"))
    expire(account)
    http_emulator.post(f"{emulator.base_url}/_emulator/users/lee@contoso.test/disable").raise_for_status()
    with pytest.raises(tokens.RefreshFailed) as excinfo:
        tokens.access_token(account)
    assert excinfo.value.permanent and excinfo.value.aad_code == "AADSTS50057"
    account.refresh_from_db()
    assert account.status == "needs_reconsent"
    assert "disabled or removed" in account.last_error
