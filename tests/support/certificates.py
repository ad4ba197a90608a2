"""Certificate credentials for tests: a key pair the site keeps, registered (or not) on the emulator's app."""

from __future__ import annotations

from typing import Any

from membership.certificates import Certificate, generate
from membership.models import MicrosoftSettings


def register(emulator: Any, http: Any, cert: Certificate) -> None:
    """Upload ``cert`` to the emulator's app, as an admin does under Certificates & secrets."""
    resp = http.post(f"{emulator.base_url}/_emulator/apps/{emulator.info['client_id']}/certificates",
                     json={"pem": cert.pem})
    assert resp.status_code == 201, resp.text


def unregister(emulator: Any, http: Any, cert: Certificate) -> None:
    resp = http.delete(f"{emulator.base_url}/_emulator/apps/{emulator.info['client_id']}/certificates/"
                       f"{cert.thumbprint}")
    assert resp.status_code == 200, resp.text


def use_certificate(ms: MicrosoftSettings, emulator: Any, http: Any, *, registered: bool = True) -> Certificate:
    """Switch the settings to a new certificate and no client secret; register it unless told not to."""
    key, cert = generate("membership platform test")
    if registered:
        register(emulator, http, cert)
    ms.credential = MicrosoftSettings.Credential.CERTIFICATE
    ms.client_secret = ""
    ms.certificate, ms.certificate_key = cert.pem, key
    ms.save()
    return cert
