"""A certificate that does not verify and a host name that does not resolve are configuration errors:
named as such, with the host, at once (no retries), on every path to Microsoft."""

from __future__ import annotations

import time
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import trustme
from django.core.management import call_command
from django.core.management.base import CommandError

from graphfns.client import GraphClient
from graphfns.errors import FunctionError
from graphfns.execution import execute
from membership.models import MicrosoftSettings
from tests.support.members import Connect

UNRESOLVABLE = "graph.unresolvable.invalid"


@pytest.fixture
def wrong_ca(tmp_path: Path) -> str:
    """A CA that did not sign the emulator's certificate (as when MICROSOFT_CA_BUNDLE is missing)."""
    path = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(path))
    return str(path)


def test_graph_names_a_certificate_that_does_not_verify_without_retrying(emulator: Any, settings: Any,
                                                                          wrong_ca: str) -> None:
    settings.MICROSOFT_CA_BUNDLE = wrong_ca
    client = GraphClient(emulator.base_url, "a-token", max_attempts=4, deadline=20)
    started = time.monotonic()
    with pytest.raises(FunctionError) as caught:
        client.get("/users/adele@contoso.test")
    assert time.monotonic() - started < 1.0
    assert caught.value.code == "TLSVerificationFailed" and caught.value.status == 503
    assert "127.0.0.1" in caught.value.message and "MICROSOFT_CA_BUNDLE" in caught.value.message
    assert caught.value.details["host"] == "127.0.0.1"
    assert client.stats.requests == 1


def test_graph_names_a_host_that_does_not_resolve_without_retrying(settings: Any) -> None:
    settings.MICROSOFT_ALLOWED_HOSTS = [UNRESOLVABLE]
    client = GraphClient(f"https://{UNRESOLVABLE}", "a-token", max_attempts=4, deadline=20)
    with pytest.raises(FunctionError) as caught:
        client.get("/users/adele@contoso.test")
    assert caught.value.code == "HostNotFound"
    assert UNRESOLVABLE in caught.value.message and "DNS" in caught.value.message
    assert client.stats.requests == 1


def test_an_application_call_says_the_emulators_ca_is_not_trusted(microsoft: MicrosoftSettings, settings: Any,
                                                                    wrong_ca: str) -> None:
    settings.MICROSOFT_CA_BUNDLE = wrong_ca
    started = time.monotonic()
    with pytest.raises(CommandError, match=r"^TLSVerificationFailed: The TLS certificate of 127\.0\.0\.1 .*"
                                           r"MICROSOFT_CA_BUNDLE"):
        call_command("graph", "call", "users.get", "--param", "user_id=adele@contoso.test", "--app", stdout=StringIO())
    assert time.monotonic() - started < 1.0


def test_a_delegated_call_names_the_failure_and_leaves_the_account_active(connect: Connect, settings: Any,
                                                                          wrong_ca: str) -> None:
    lee = connect("lee")
    account = lee.microsoft_accounts.get()  # type: ignore[attr-defined]
    account.access_token_expires_at = None  # force a refresh at the token endpoint
    account.save()
    settings.MICROSOFT_CA_BUNDLE = wrong_ca
    with pytest.raises(FunctionError) as caught:
        execute("users.get", {"user_id": "me"}, lee)
    assert caught.value.code == "TLSVerificationFailed"
    assert "127.0.0.1" in caught.value.message
    account.refresh_from_db()
    assert account.status == "active"


def test_sign_in_names_a_host_that_does_not_resolve(microsoft: MicrosoftSettings, settings: Any, client: Any) -> None:
    settings.MICROSOFT_ALLOWED_HOSTS = ["127.0.0.1", UNRESOLVABLE]
    microsoft.authority_host = f"https://{UNRESOLVABLE}"
    microsoft.save()
    response = client.get("/auth/microsoft/login/")
    assert response.status_code == 503
    assert "find Microsoft" in response.content.decode()
