"""Admin forms: the write-only credentials (client secret, certificate) and scopes normalised as the admin
types them."""

from __future__ import annotations

from typing import Any

from django import forms

from membership.certificates import Certificate, CertificateError, generate, read_pem_bundle
from membership.models import MicrosoftSettings, SignInMode
from membership.scopes import ScopeError, parse_scopes
from membership.validators import split_tenant_ids


class ScopesFormMixin:
    """Cleans scope fields to their normalised form and remembers reserved scopes it dropped."""

    scope_fields: tuple[str, ...] = ()

    def clean_scope_field(self, name: str) -> str:
        value = self.cleaned_data.get(name, "")  # type: ignore[attr-defined]
        try:
            parsed = parse_scopes(value)
        except ScopeError as exc:
            raise forms.ValidationError(str(exc)) from None
        if parsed.removed_reserved:
            self.notes.append(  # type: ignore[attr-defined]
                f"Removed {', '.join(parsed.removed_reserved)} from {self.fields[name].label}: "  # type: ignore[attr-defined]
                "Microsoft sign-in always requests them."
            )
        return str(parsed)


class MicrosoftSettingsForm(ScopesFormMixin, forms.ModelForm):
    client_secret = forms.CharField(
        label="Client secret",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )
    # The certificate, like the secret, is write-only: its private key is never read into the page.
    certificate_file = forms.FileField(
        label="Upload certificate",
        required=False,
        help_text="A PEM file with the private key and its certificate (e.g. from your PKI, or `openssl req -x509 "
        "-newkey rsa:2048 -keyout key.pem -out cert.pem` concatenated). The key is stored encrypted and never "
        "shown again.",
    )
    certificate_password = forms.CharField(
        label="Private key password",
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Only if the uploaded private key is password-protected. Not stored.",
    )
    generate_certificate = forms.BooleanField(
        label="Generate a certificate",
        required=False,
        help_text="Create a new RSA 2048 key and a self-signed certificate valid for two years, here on the server.",
    )
    discard_next_certificate = forms.BooleanField(
        label="Discard the next certificate",
        required=False,
        help_text="Forget the rollover's next certificate (the current one stays in use).",
    )

    class Meta:
        model = MicrosoftSettings
        fields = (
            "enabled", "client_id", "credential", "client_secret", "client_secret_expires_on", "tenant",
            "allowed_tenant_ids",
            "default_role", "default_scopes", "app_tenant_id", "callback_url", "logout_url", "failure_url",
            "authority_host", "graph_url", "reactivate_returning_members",
        )
        # Write-only: the stored secret is never read into the form (nor validated, nor written back);
        # save() sets a typed one. So the page opens, and other fields save, when FIELD_ENCRYPTION_KEY
        # cannot decrypt the stored secret, and a blank field leaves its ciphertext as it is.
        exclude = ("client_secret",)  # noqa: DJ006 - on top of `fields`, which still lists what is edited
        widgets = {
            "credential": forms.RadioSelect,
            # Room for a whole GUID or domain, and short lists.
            "client_id": forms.TextInput(attrs={"size": 40}),
            "tenant": forms.TextInput(attrs={"size": 40}),
            "app_tenant_id": forms.TextInput(attrs={"size": 40}),
            "allowed_tenant_ids": forms.Textarea(attrs={"rows": 3, "cols": 40}),
            "default_scopes": forms.Textarea(attrs={"rows": 3, "cols": 60}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[str] = []
        self.new_certificate: tuple[str, Certificate] | None = None
        if "credential" in self.fields:  # absent for staff who may only view the page
            self.fields["credential"].required = False  # a form that does not name it keeps what is stored
        field = self.fields["client_secret"]
        field.help_text = str(MicrosoftSettings._meta.get_field("client_secret").help_text)
        if self.instance.pk and not self.instance.client_secret_readable:
            field.help_text = (
                "A secret is stored but cannot be decrypted with FIELD_ENCRYPTION_KEY. Type it again to replace "
                "it, or leave blank to keep it as stored (it works again once the old key is restored)."
            )
        elif self.instance.pk and self.instance.client_secret:
            field.help_text = (
                f"A secret ending in {self.instance.secret_hint} is stored. Leave blank to keep it; "
                "type a new one to replace it."
            )

    def save(self, commit: bool = True) -> MicrosoftSettings:
        ms = self.instance
        if self.cleaned_data.get("client_secret"):  # blank keeps what is stored
            ms.client_secret = self.cleaned_data["client_secret"]
        if self.cleaned_data.get("discard_next_certificate"):
            ms.next_certificate = ""
            ms.next_certificate_key = ""
        if self.new_certificate is not None:
            key, cert = self.new_certificate
            slot = ms.store_certificate(key, cert)
            where = ("It is the certificate tokens are requested with." if slot == "current" else
                     "It is the next certificate: tokens keep using the current one until Test configuration has "
                     "seen Microsoft accept this one, which then becomes current.")
            self.notes.append(f"Certificate {cert.thumbprint} stored. Download it (.cer) below and upload it in the "
                              f"Azure portal → your app → Certificates & secrets → Certificates. {where}")
        return super().save(commit)

    def _secret_stored(self) -> bool:
        """A secret is stored: one the key cannot decrypt counts too (it is kept, not missing)."""
        ms = self.instance
        return bool(ms.pk) and (not ms.client_secret_readable or bool(ms.client_secret))

    def _read_certificate(self, data: dict[str, Any]) -> None:
        upload, make = data.get("certificate_file"), data.get("generate_certificate")
        if upload and make:
            self.add_error("generate_certificate", "Either upload a certificate or generate one, not both.")
        elif upload:
            try:
                self.new_certificate = read_pem_bundle(upload.read(), data.get("certificate_password") or "")
            except CertificateError as exc:
                self.add_error("certificate_file", str(exc))
        elif make:
            self.new_certificate = generate(f"Membership platform {data.get('client_id') or ''}".strip())

    def clean_credential(self) -> str:
        chosen = self.cleaned_data.get("credential") or self.instance.credential
        return str(chosen or MicrosoftSettings.Credential.SECRET)

    def clean_default_scopes(self) -> str:
        return self.clean_scope_field("default_scopes")

    def clean_allowed_tenant_ids(self) -> str:
        return "\n".join(split_tenant_ids(self.cleaned_data["allowed_tenant_ids"]))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        self._read_certificate(data)
        if data.get("enabled"):
            certificate = data.get("credential") == MicrosoftSettings.Credential.CERTIFICATE
            credential = (
                ("Certificate (upload or generate one)", bool(self.new_certificate or self.instance.certificate))
                if certificate else ("Client secret", bool(data.get("client_secret") or self._secret_stored()))
            )
            missing = [
                label for label, present in (("Application (client) ID", bool(data.get("client_id"))), credential)
                if not present
            ]
            if missing:
                raise forms.ValidationError(
                    f"To enable Sign in with Microsoft, fill in: {', '.join(missing)}."
                )
        return data


class SignInModeForm(ScopesFormMixin, forms.ModelForm):
    class Meta:
        model = SignInMode
        fields = (
            "settings", "name", "enabled", "override_default_scopes", "scopes", "callback_url", "logout_url",
            "failure_url", "role",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.notes: list[str] = []

    def clean_scopes(self) -> str:
        return self.clean_scope_field("scopes")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("override_default_scopes") and not data.get("scopes"):
            self.add_error("scopes", "With “Override default scopes” on, list the scopes this mode requests.")
        return data
