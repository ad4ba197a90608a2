"""Secrets are encrypted at rest, fail closed with the wrong key, and can be rotated."""

from __future__ import annotations

from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from django.test import override_settings

from membership.lib.encryption import UndecryptableValue
from membership.models import MicrosoftAccount, MicrosoftSettings

pytestmark = pytest.mark.django_db


def raw(table: str, column: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column} FROM {table}")
        return cursor.fetchone()[0]


def test_the_raw_column_does_not_contain_the_plaintext(ms_settings: MicrosoftSettings) -> None:
    stored = raw("membership_microsoftsettings", "client_secret")
    assert "s3cr3t" not in stored
    assert stored.startswith("gAAAA")  # a Fernet token
    assert MicrosoftSettings.load().client_secret == "s3cr3t-VALUE-abcd"


def test_tokens_are_encrypted_too() -> None:
    user = User.objects.create(username="m")
    MicrosoftAccount.objects.create(user=user, tenant_id="t", object_id="o", access_token="AT-plain", refresh_token="RT-plain")
    assert "plain" not in raw("membership_microsoftaccount", "access_token")
    assert "plain" not in raw("membership_microsoftaccount", "refresh_token")
    account = MicrosoftAccount.objects.get()
    assert (account.access_token, account.refresh_token) == ("AT-plain", "RT-plain")
    with override_settings(FIELD_ENCRYPTION_KEY=[Fernet.generate_key().decode()]):
        listed = MicrosoftAccount.objects.get()  # pages list accounts without decrypting their tokens
        assert listed.username == ""
        with pytest.raises(UndecryptableValue):
            listed.refresh_token  # noqa: B018
        with pytest.raises(UndecryptableValue):
            MicrosoftAccount.objects.with_tokens().get()


def test_a_wrong_key_fails_closed_with_a_clear_error(ms_settings: MicrosoftSettings) -> None:
    with override_settings(FIELD_ENCRYPTION_KEY=[Fernet.generate_key().decode()]):
        loaded = MicrosoftSettings.load()  # the secret is read only where it is used
        assert loaded.client_id == ms_settings.client_id
        assert not loaded.secret_readable and loaded.secret_hint == ""
        with pytest.raises(UndecryptableValue, match="FIELD_ENCRYPTION_KEY") as excinfo:
            loaded.client_secret  # noqa: B018
    assert "gAAAA" not in str(excinfo.value)
    assert "s3cr3t" not in str(excinfo.value)


def test_rotation_reads_old_rows_and_reencrypts_with_the_first_key(settings, ms_settings: MicrosoftSettings) -> None:  # type: ignore[no-untyped-def]
    old = list(settings.FIELD_ENCRYPTION_KEY)
    new = Fernet.generate_key().decode()
    before = raw("membership_microsoftsettings", "client_secret")
    settings.FIELD_ENCRYPTION_KEY = [new, *old]
    assert MicrosoftSettings.load().client_secret == "s3cr3t-VALUE-abcd"  # old rows still read

    out = StringIO()
    call_command("reencrypt_secrets", stdout=out)
    assert "membership.MicrosoftSettings: 1 row(s)" in out.getvalue()
    after = raw("membership_microsoftsettings", "client_secret")
    assert after != before
    assert Fernet(new.encode()).decrypt(after.encode()) == b"s3cr3t-VALUE-abcd"

    settings.FIELD_ENCRYPTION_KEY = [new]  # the old key can now be dropped
    assert MicrosoftSettings.load().client_secret == "s3cr3t-VALUE-abcd"


def test_empty_secrets_stay_empty() -> None:
    MicrosoftSettings.load()
    assert raw("membership_microsoftsettings", "client_secret") == ""
    assert MicrosoftSettings.load().client_secret == ""


def test_refresh_from_db_reloads_the_tokens_it_holds() -> None:
    user = User.objects.create(username="m2")
    account = MicrosoftAccount.objects.create(user=user, tenant_id="t2", object_id="o2", access_token="AT-1",
                                              refresh_token="RT-1")
    held = MicrosoftAccount.objects.get(pk=account.pk)
    assert (held.access_token, held.refresh_token) == ("AT-1", "RT-1")  # both loaded now
    other = MicrosoftAccount.objects.with_tokens().get(pk=account.pk)
    other.access_token, other.refresh_token = "AT-2", "RT-2"  # type: ignore[assignment]
    other.save()
    held.refresh_from_db()
    assert (held.access_token, held.refresh_token) == ("AT-2", "RT-2")
