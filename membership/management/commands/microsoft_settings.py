"""Show or change the Microsoft settings from the command line (deployments, the demo)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from membership.certificates import CertificateError, generate, read_pem_bundle
from membership.models import CREDENTIAL_SECRETS, MicrosoftSettings, SignInMode

FIELDS = {
    "enabled": "enabled",
    "client_id": "client-id",
    "credential": "credential",
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
        parser.add_argument("--certificate-file", metavar="PEM",
                            help="A PEM file with a private key and its certificate: stored as the certificate "
                                 "(or, when one is stored, as the next certificate of a rollover).")
        parser.add_argument("--certificate-password", default="", help="With --certificate-file: the key's password.")
        parser.add_argument("--generate-certificate", action="store_true",
                            help="Generate an RSA 2048 key and a two-year self-signed certificate instead.")
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
        if options["certificate_file"] or options["generate_certificate"]:
            changes["certificate"] = _store_certificate(ms, options)
        if changes:
            # Unless replaced, the secret and keys are still deferred (never read): validating them would decrypt
            # them, which fails with a wrong FIELD_ENCRYPTION_KEY, and saving leaves them as stored.
            unchanged = set(CREDENTIAL_SECRETS) & ms.get_deferred_fields()
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
        for label, cert in (("certificate", ms.current_certificate), ("next certificate", ms.pending_certificate)):
            if cert is not None:
                self.stdout.write(f"{label:>20}: {cert.thumbprint} (SHA-1), {cert.subject}, "
                                  f"expires {cert.not_after:%Y-%m-%d}")
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


def _store_certificate(ms: MicrosoftSettings, options: dict[str, Any]) -> str:
    """Read or generate a certificate and keep it (current, or next of a rollover); the key is never printed."""
    if options["certificate_file"] and options["generate_certificate"]:
        raise CommandError("Give --certificate-file or --generate-certificate, not both.")
    if options["generate_certificate"]:
        key, cert = generate(f"Membership platform {ms.client_id}".strip())
    else:
        try:
            with open(options["certificate_file"], "rb") as f:
                key, cert = read_pem_bundle(f.read(), options["certificate_password"])
        except OSError as exc:
            raise CommandError(f"Cannot read {options['certificate_file']}: {exc.strerror}.") from None
        except CertificateError as exc:
            raise CommandError(str(exc)) from None
    return ms.store_certificate(key, cert)
