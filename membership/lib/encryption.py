"""Encrypted model fields that fail closed.

Stored Fernet-encrypted, like django-encrypted-model-fields' (the format is the same), but that
library returns the stored ciphertext as if it were the value when it does not decrypt (wrong or
rotated-away key), and parses its key when imported, so a missing key stopped the site with the
library's bare error before the system check (membership/checks.py) could say what to do. These
fields decrypt strictly with the keys in settings at the time of use, and raise
``UndecryptableValue`` naming FIELD_ENCRYPTION_KEY instead.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.db import models

from membership.conf import conf


class UndecryptableValue(Exception):
    """A stored secret that none of the configured keys can decrypt."""

    def __init__(self, field: str = "") -> None:
        where = f" in {field}" if field else ""
        super().__init__(
            f"A stored secret{where} cannot be decrypted with FIELD_ENCRYPTION_KEY. Restore the key "
            "it was written with (list old keys after the new one, comma-separated), or re-enter "
            "the secret."
        )


@lru_cache(maxsize=4)
def _crypter(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(k) for k in keys])


def crypter() -> MultiFernet:
    return _crypter(conf.FIELD_ENCRYPTION_KEY)


def encrypt(plaintext: str) -> str:
    return crypter().encrypt(plaintext.encode()).decode()


def decrypt(ciphertext: str, field: str = "") -> str:
    try:
        return crypter().decrypt(ciphertext.encode()).decode()
    except InvalidToken:
        raise UndecryptableValue(field) from None


class EncryptedTextField(models.TextField):
    """A text value stored Fernet-encrypted; reading it with the wrong key raises."""

    def from_db_value(self, value: Any, *args: Any, **kwargs: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value, f"{self.model._meta.label}.{self.name}")

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        value = super().get_db_prep_value(value, connection, prepared)
        if value is None or value == "":
            return value
        return encrypt(str(value))


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with encrypted fields, and their names (for re-encryption)."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        names = [f.name for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found
