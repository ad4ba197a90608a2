"""The certificate credential on the Microsoft settings page: upload, generate, download, rollover slot."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from membership.certificates import generate
from membership.models import MicrosoftSettings
from tests.support.settings import CLIENT_ID, GUID

pytestmark = pytest.mark.django_db

URL = "/admin/membership/microsoftsettings/1/change/"


def post_data(**changes: Any) -> dict[str, Any]:
    return {
        "enabled": "on", "client_id": CLIENT_ID, "client_secret": "", "client_secret_expires_on": "", "tenant": GUID,
        "allowed_tenant_ids": "", "default_role": "", "authority_host": "https://login.microsoftonline.com",
        "graph_url": "https://graph.microsoft.com", "default_scopes": "User.Read", "app_tenant_id": GUID,
        "callback_url": "", "logout_url": "", "failure_url": "", "modes-TOTAL_FORMS": "0",
        "modes-INITIAL_FORMS": "0", "modes-MIN_NUM_FORMS": "0", "modes-MAX_NUM_FORMS": "1000", **changes,
    }


def pem_file(password: str = "") -> tuple[bytes, str]:
    key_pem, cert = generate("uploaded")
    key = serialization.load_pem_private_key(key_pem.encode(), None)
    encryption = serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption()
    key_bytes = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)
    return key_bytes + cert.pem.encode(), cert.thumbprint


def stored() -> MicrosoftSettings:
    return MicrosoftSettings.objects.defer(None).get()


def test_an_uploaded_password_protected_pem_becomes_the_credential(admin_client: Client) -> None:
    MicrosoftSettings.load()
    data, thumbprint = pem_file("pa55")
    response = admin_client.post(URL, post_data(
        credential="certificate", certificate_file=SimpleUploadedFile("cert.pem", data), certificate_password="pa55"))
    assert response.status_code == 302, response.content.decode()[:3000]
    ms = stored()
    assert ms.uses_certificate and ms.current_certificate is not None
    assert ms.current_certificate.thumbprint == thumbprint
    assert "BEGIN PRIVATE KEY" in ms.certificate_key  # stored decrypted-in-use, encrypted at rest
    html = admin_client.get(URL).content.decode()
    assert thumbprint in html and ms.current_certificate.thumbprint_sha256 in html
    assert "PRIVATE KEY" not in html


@pytest.mark.parametrize(("password", "message"), [
    ("", "The private key is encrypted: enter its password."),
    ("wrong", "The password does not open the private key."),
])
def test_a_protected_key_needs_its_password(admin_client: Client, password: str, message: str) -> None:
    MicrosoftSettings.load()
    data, _ = pem_file("pa55")
    response = admin_client.post(URL, post_data(
        credential="certificate", certificate_file=SimpleUploadedFile("c.pem", data), certificate_password=password))
    assert response.status_code == 200 and message in response.content.decode()
    assert not stored().certificate


def test_a_certificate_credential_without_a_certificate_cannot_be_enabled(admin_client: Client) -> None:
    MicrosoftSettings.load()
    response = admin_client.post(URL, post_data(credential="certificate"))
    assert "fill in: Certificate" in response.content.decode()


def test_a_generated_certificate_is_two_year_rsa_2048_and_downloads_as_cer_and_pem(admin_client: Client) -> None:
    MicrosoftSettings.load()
    assert admin_client.post(URL, post_data(credential="certificate", generate_certificate="on")).status_code == 302
    cert = stored().current_certificate
    assert cert is not None
    assert 729 <= (cert.not_after - cert.not_before).days <= 731
    assert cert.x509.public_key().key_size == 2048  # type: ignore[union-attr]
    cer = admin_client.get("/admin/membership/microsoftsettings/certificate/current.cer")
    assert cer["Content-Type"] == "application/pkix-cert"
    assert x509.load_der_x509_certificate(cer.content).fingerprint(hashes.SHA1()).hex().upper() == cert.thumbprint
    pem = admin_client.get("/admin/membership/microsoftsettings/certificate/current.pem")
    assert pem.content.decode() == cert.pem and b"PRIVATE" not in pem.content
    assert admin_client.get("/admin/membership/microsoftsettings/certificate/next.cer").status_code == 404


def test_a_second_certificate_waits_in_the_next_slot(admin_client: Client) -> None:
    MicrosoftSettings.load()
    admin_client.post(URL, post_data(credential="certificate", generate_certificate="on"))
    first = stored().current_certificate
    admin_client.post(URL, post_data(credential="certificate", generate_certificate="on"))
    ms = stored()
    assert ms.current_certificate == first and ms.pending_certificate is not None
    assert "becomes current once Test configuration" in admin_client.get(URL).content.decode()
    admin_client.post(URL, post_data(credential="certificate", discard_next_certificate="on"))
    assert stored().pending_certificate is None and stored().current_certificate == first


def test_the_page_warns_30_days_before_the_certificate_expires(admin_client: Client) -> None:
    from datetime import timedelta

    ms = MicrosoftSettings.load()
    key, cert = generate("short", validity=timedelta(days=20))
    ms.credential = MicrosoftSettings.Credential.CERTIFICATE
    ms.store_certificate(key, cert)
    ms.save()
    html = admin_client.get(URL).content.decode()
    assert f"The certificate {cert.thumbprint} expires in" in html


def test_other_fields_save_without_naming_the_credential(admin_client: Client, settings: Any) -> None:
    MicrosoftSettings.load()
    data = post_data(client_secret="s3cret-value")
    data.pop("credential", None)
    assert admin_client.post(URL, data).status_code == 302
    assert stored().credential == "secret"


def test_the_settings_command_generates_a_certificate_and_shows_its_thumbprint() -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("microsoft_settings", "--credential", "certificate", "--generate-certificate", stdout=out)
    ms = stored()
    assert ms.uses_certificate and ms.current_certificate is not None
    assert ms.current_certificate.thumbprint in out.getvalue() and "PRIVATE KEY" not in out.getvalue()
