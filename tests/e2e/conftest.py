"""A real browser: Debian's headless Chromium driven by Playwright (no downloaded browser)."""

from __future__ import annotations

import base64
import hashlib
import shutil
import ssl
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def spki_pin(base_url: str) -> str:
    """The emulator's certificate key, so Chromium trusts exactly that server and nothing more."""
    parts = urlsplit(base_url)
    pem = ssl.get_server_certificate((parts.hostname, parts.port))
    key = x509.load_pem_x509_certificate(pem.encode()).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@pytest.fixture
def browser_page(emulator: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"No Chromium at {CHROMIUM}: `make test` installs Debian's (scripts/install-chromium).")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # afterwards are plain synchronous calls, so Django's async guard is lifted for this test
    # (monkeypatch restores it afterwards, also when the browser fails to start).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--ignore-certificate-errors-spki-list={spki_pin(emulator.base_url)}",
            ],
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()
