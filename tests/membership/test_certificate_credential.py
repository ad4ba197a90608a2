"""The certificate credential end to end against the emulator: sign-in, background refresh and
application calls with no client secret; refusals named; the rollover; key rotation."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from graphfns.app_tokens import AppTokenCache
from graphfns.diagnostics import run_checks
from graphfns.errors import FunctionError
from graphfns.execution import execute
from membership import tokens
from membership.certificates import generate
from membership.failures import Reason, SignInFailure, failure_from_aad, reason_from_aad
from membership.identity import msal_app
from membership.models import MicrosoftAccount, MicrosoftSettings
from tests.support.browser import MemberBrowser
from tests.support.certificates import register, unregister, use_certificate
from tests.support.members import Connect, account_of, seeded_user


@pytest.fixture
def with_certificate(microsoft: MicrosoftSettings, emulator: Any, http_emulator: Any) -> MicrosoftSettings:
    use_certificate(microsoft, emulator, http_emulator)
    return microsoft


def assertions_sent(emulator: Any) -> int:
    return emulator.emulator.grants["client_credentials"] + emulator.emulator.grants["refresh_token"]


def test_a_member_signs_in_with_a_certificate_and_no_secret(live_server: Any, member: MemberBrowser, emulator: Any,
                                                             with_certificate: MicrosoftSettings) -> None:
    assert MicrosoftSettings.load().client_secret == ""
    member.get(f"{live_server.url}/auth/microsoft/login/")
    member.pick_user(seeded_user(emulator, "lee")["id"])
    if "decision" in member.page.text and "accept" in member.page.text:
        member.accept()
    assert member.page.url == f"{live_server.url}/account/"
    assert MicrosoftAccount.objects.get().refresh_token


def test_background_refresh_and_application_calls_use_the_certificate(connect: Connect, emulator: Any,
                                                                      with_certificate: MicrosoftSettings) -> None:
    account = account_of(connect("lee"))
    account.last_refreshed_at = timezone.now() - timedelta(days=8)
    account.save()
    before = account.refresh_token
    refreshed = tokens.refresh_account(account.pk, renewed_before=timezone.now() - timedelta(days=7))
    assert refreshed.refresh_token != before
    # A second request from the same MSAL app: it must carry a fresh assertion (a replay is refused).
    again = tokens.refresh_account(account.pk, renewed_before=timezone.now() + timedelta(seconds=1))
    assert again.refresh_token != refreshed.refresh_token
    result = execute("users.list", {"limit": 1, "top": 1}, None, caller="test")
    assert result["value"]


def test_an_unregistered_certificate_is_refused_with_a_sentence_about_certificates(
        microsoft: MicrosoftSettings, emulator: Any, http_emulator: Any) -> None:
    use_certificate(microsoft, emulator, http_emulator, registered=False)
    AppTokenCache(microsoft).clear()  # a token another test left in the shared cache would still be valid
    with pytest.raises(FunctionError) as caught:
        AppTokenCache(microsoft).token()
    assert caught.value.code == "InvalidClientCredentials"
    assert caught.value.details["aad_code"] == "AADSTS700027"
    assert "Certificates & secrets → Certificates" in caught.value.message


def test_the_check_names_the_certificate_microsoft_accepted(with_certificate: MicrosoftSettings) -> None:
    checks = run_checks(with_certificate)
    assert all(c.ok for c in checks), checks
    cert = with_certificate.current_certificate
    assert cert is not None
    assert any(f"certificate {cert.thumbprint}" in c.detail and "accepted" in c.detail for c in checks)


def test_the_check_says_microsoft_refused_an_unregistered_certificate(
        microsoft: MicrosoftSettings, emulator: Any, http_emulator: Any) -> None:
    use_certificate(microsoft, emulator, http_emulator, registered=False)
    failed = run_checks(microsoft)[-1]
    assert not failed.ok and "AADSTS700027" in failed.detail and "certificate" in failed.detail


def test_a_rollover_keeps_calls_working_until_the_next_certificate_is_seen_to_work(
        connect: Connect, emulator: Any, http_emulator: Any, with_certificate: MicrosoftSettings) -> None:
    ms = with_certificate
    old = ms.current_certificate
    assert old is not None
    account = account_of(connect("lee"))
    key, new = generate("next")
    assert ms.store_certificate(key, new) == "next"
    ms.save()

    # Not yet registered: the check says so, and every call still uses the current certificate.
    checks = run_checks(ms)
    assert not checks[-1].ok and "next certificate" in checks[-1].name.lower()
    assert MicrosoftSettings.load().current_certificate == old
    tokens.refresh_account(account.pk, renewed_before=timezone.now() + timedelta(seconds=1))
    assert execute("users.list", {"limit": 1}, None, caller="test")["value"]

    register(emulator, http_emulator, new)
    checks = run_checks(MicrosoftSettings.load())
    assert all(c.ok for c in checks), checks
    promoted = MicrosoftSettings.load()
    assert promoted.current_certificate == new and promoted.pending_certificate is None

    unregister(emulator, http_emulator, old)  # the old one may now be deleted in the Azure portal
    AppTokenCache(promoted).clear()
    tokens.refresh_account(account.pk, renewed_before=timezone.now() + timedelta(seconds=1))
    assert execute("users.list", {"limit": 1}, None, caller="test")["value"]


@pytest.mark.parametrize(("code", "failure"), [
    (700027, "certificate_rejected"), (700024, "assertion_rejected"), (700023, "assertion_rejected"),
    (700021, "assertion_rejected"), (7000274, "assertion_rejected"),
])
def test_certificate_refusals_are_client_credential_failures(code: int, failure: str) -> None:
    answer = {"error": "invalid_client", "error_codes": [code]}
    assert reason_from_aad(answer) is Reason.CLIENT_CREDENTIALS
    assert failure_from_aad(answer).code == failure
    assert SignInFailure(failure).reason is Reason.CLIENT_CREDENTIALS


def test_key_rotation_re_encrypts_the_private_key_and_never_prints_it(
        with_certificate: MicrosoftSettings, settings: Any) -> None:
    from cryptography.fernet import Fernet

    key = MicrosoftSettings.objects.defer(None).get().certificate_key
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = [new, *settings.FIELD_ENCRYPTION_KEY]
    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "certificate_key" in out.getvalue() and "PRIVATE KEY" not in out.getvalue()
    settings.FIELD_ENCRYPTION_KEY = [new]  # the old key is gone
    assert MicrosoftSettings.objects.defer(None).get().certificate_key == key
    assert msal_app(MicrosoftSettings.load()) is not None
