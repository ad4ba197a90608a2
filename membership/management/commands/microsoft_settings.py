"""Show or change the Microsoft settings from the command line (deployments, the demo)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from membership.models import MicrosoftSettings, SignInMode

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
        parser.add_argument("--mode", metavar="NAME", help="Create or change the sign-in mode NAME (?mode=NAME).")
        parser.add_argument("--mode-scopes", metavar="SCOPES", help="With --mode: the mode's scopes.")
        parser.add_argument("--mode-override", choices=["yes", "no"],
                            help="With --mode: 'Override default scopes' (yes: only the mode's scopes).")

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
        if options.get("mode"):
            _save_mode(ms, options["mode"], options.get("mode_scopes"), options.get("mode_override"))
        elif options.get("mode_scopes") is not None or options.get("mode_override") is not None:
            raise CommandError("--mode-scopes and --mode-override need --mode NAME.")
        for field in FIELDS:
            value = _secret_line(ms) if field == "client_secret" else getattr(ms, field)
            self.stdout.write(f"{field:>20}: {value}")
        for mode in ms.modes.order_by("name"):
            rule = "override" if mode.override_default_scopes else "default +"
            self.stdout.write(f"{'mode ' + mode.name:>20}: {rule} {mode.scopes}{'' if mode.enabled else ' (disabled)'}")


def _save_mode(ms: MicrosoftSettings, name: str, scopes: str | None, override: str | None) -> None:
    mode = SignInMode.objects.filter(settings=ms, name=name).first() or SignInMode(settings=ms, name=name)
    if scopes is not None:
        mode.scopes = scopes
    if override is not None:
        mode.override_default_scopes = override == "yes"
    try:
        mode.full_clean()
    except ValidationError as exc:
        raise CommandError("; ".join(f"mode {k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from None
    mode.save()


def _secret_line(ms: MicrosoftSettings) -> str:
    if not ms.secret_readable:
        return ("stored, but cannot be decrypted with FIELD_ENCRYPTION_KEY: restore the key it was written with, "
                "or give --client-secret")
    return ms.secret_hint
