"""Driving a real browser against the emulator: Debian's headless Chromium, trusting exactly the
emulator's certificate (by its key's SPKI pin) and nothing more. Used by the browser tests and
the CI smoke check; the product never imports it."""

from __future__ import annotations

import base64
import hashlib
import shutil
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def spki_pin(base_url: str) -> str:
    """The base64 SHA-256 of the emulator's certificate key, as Chromium's SPKI list wants it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    parts = urlsplit(base_url)
    pem = ssl.get_server_certificate((parts.hostname or "127.0.0.1", parts.port or 443))
    key = x509.load_pem_x509_certificate(pem.encode()).public_key()
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


@contextmanager
def chromium_page(emulator_url: str) -> Iterator[Any]:
    """A page of a fresh headless Chromium (Playwright driving Debian's build; nothing downloaded)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--ignore-certificate-errors-spki-list={spki_pin(emulator_url)}",
            ],
        )
        try:
            yield browser.new_page()
        finally:
            browser.close()
