"""Which credential the site signs its token requests with, and when it has none to use."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from membership.certificates import generate
from membership.failures import SignInFailure
from membership.identity import msal_app
from membership.models import MicrosoftSettings


def failure_on_login(client: Client) -> str:
    page = client.get("/auth/microsoft/login/").content.decode()
    return page.split("Error code: <code>")[1].split("</code>")[0]


def test_certificate_mode_without_a_certificate_is_switched_off_even_with_a_secret_stored(
        microsoft: MicrosoftSettings, client: Client) -> None:
    microsoft.credential = MicrosoftSettings.Credential.CERTIFICATE  # the secret stays stored, unused
    microsoft.save()
    assert failure_on_login(client) == "disabled"


def test_certificate_mode_with_a_certificate_but_no_private_key_is_switched_off(
        microsoft: MicrosoftSettings, client: Client) -> None:
    _, cert = generate("membership platform test")
    microsoft.credential = MicrosoftSettings.Credential.CERTIFICATE
    microsoft.client_secret = ""
    microsoft.certificate = cert.pem
    microsoft.save()
    assert failure_on_login(client) == "disabled"


def test_the_next_certificate_cannot_be_tried_before_one_is_stored(microsoft: MicrosoftSettings) -> None:
    key, cert = generate("membership platform test")
    microsoft.certificate, microsoft.certificate_key = cert.pem, key
    microsoft.save()
    with pytest.raises(SignInFailure) as failure:
        msal_app(microsoft, next_certificate=True)
    assert failure.value.code == "invalid_client"


def test_the_next_certificate_is_used_only_when_asked_for(microsoft: MicrosoftSettings, emulator: Any) -> None:
    key, cert = generate("membership platform test")
    microsoft.certificate, microsoft.certificate_key = cert.pem, key  # secret mode: stored for later
    microsoft.save()
    secret_app = msal_app(microsoft)
    assert secret_app.client_credential == microsoft.client_secret
    next_key, next_cert = generate("membership platform test next")
    microsoft.next_certificate, microsoft.next_certificate_key = next_cert.pem, next_key
    microsoft.save()
    trial = msal_app(microsoft, next_certificate=True)
    assert trial.client_credential["client_assertion"].certificate.thumbprint == next_cert.thumbprint


def test_one_msal_app_serves_the_same_settings_and_a_new_one_follows_a_change(microsoft: MicrosoftSettings,
                                                                            emulator: Any) -> None:
    app = msal_app(microsoft)
    assert msal_app(MicrosoftSettings.objects.get(pk=1)) is app
    assert msal_app(microsoft, emulator.info["second_tenant_id"]) is not app  # another tenant, another app
    microsoft.default_scopes = "User.Read"
    microsoft.save()
    assert msal_app(microsoft) is not app


def test_a_private_key_without_its_certificate_is_no_credential(microsoft: MicrosoftSettings) -> None:
    key, _ = generate("membership platform test")
    microsoft.credential = MicrosoftSettings.Credential.CERTIFICATE
    microsoft.certificate_key = key  # the certificate itself was never stored
    microsoft.save()
    with pytest.raises(SignInFailure) as failure:
        msal_app(microsoft)
    assert failure.value.code == "invalid_client"
