"""Re-encrypt every stored secret with the first FIELD_ENCRYPTION_KEY (after adding a new key)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from membership.lib.encryption import encrypted_fields


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted field with the first key in FIELD_ENCRYPTION_KEY. Rotate by putting "
        "the new key first (new,old), running this, then removing the old key."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        total = 0
        for model, names in encrypted_fields():
            count = 0
            with transaction.atomic():
                # Reading decrypts with any configured key; saving encrypts with the first.
                rows = list(model._base_manager.select_for_update().only("pk", *names))
                model._base_manager.bulk_update(rows, names, batch_size=500)
                count = len(rows)
            total += count
            self.stdout.write(f"{model._meta.label}: {count} row(s) re-encrypted ({', '.join(names)})")
        self.stdout.write(self.style.SUCCESS(f"Done: {total} row(s) now use the first key."))
