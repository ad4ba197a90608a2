"""Show or change the Microsoft settings from the command line (deployments, the demo)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from membership.models import MicrosoftSettings

FIELDS = {
    "enabled": "enabled",
    "client_id": "client-id",
    "client_secret": "client-secret",
    "tenant": "tenant",
    "allowed_tenant_ids": "allowed-tenant-ids",
    "authority_host": "authority-host",
    "graph_url": "graph-url",
    "default_scopes": "default-scopes",
    "app_tenant_id": "app-tenant-id",
    "callback_url": "callback-url",
    "logout_url": "logout-url",
    "failure_url": "failure-url",
}


class Command(BaseCommand):
    help = "Show the Microsoft settings, or change the ones given (validated like the admin form)."

    def add_arguments(self, parser: Any) -> None:
        for field, flag in FIELDS.items():
            if field == "enabled":
                parser.add_argument("--enabled", choices=["yes", "no"])
            else:
                parser.add_argument(f"--{flag}", dest=field)

    def handle(self, *args: Any, **options: Any) -> None:
        ms = MicrosoftSettings.load()
        changes = {f: options[f] for f in FIELDS if options.get(f) is not None}
        if "enabled" in changes:
            changes["enabled"] = changes["enabled"] == "yes"
        for field, value in changes.items():
            setattr(ms, field, value)
        if changes:
            # Unless replaced, the secret is still deferred (never read): validating it would decrypt it,
            # which fails with a wrong FIELD_ENCRYPTION_KEY, and saving leaves it as stored.
            unchanged = {"client_secret"} & ms.get_deferred_fields()
            try:
                ms.full_clean(exclude=unchanged)
            except ValidationError as exc:
                raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
            ms.save()
        for field in FIELDS:
            value = _secret_line(ms) if field == "client_secret" else getattr(ms, field)
            self.stdout.write(f"{field:>20}: {value}")


def _secret_line(ms: MicrosoftSettings) -> str:
    if not ms.secret_readable:
        return ("stored, but cannot be decrypted with FIELD_ENCRYPTION_KEY: restore the key it was written with, "
                "or give --client-secret")
    return ms.secret_hint
