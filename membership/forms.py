"""Admin forms: the write-only client secret and scopes normalised as the admin types them."""

from __future__ import annotations

from typing import Any

from django import forms

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

    class Meta:
        model = MicrosoftSettings
        fields = (
            "enabled", "client_id", "client_secret", "client_secret_expires_on", "tenant", "allowed_tenant_ids",
            "default_role", "default_scopes", "app_tenant_id", "callback_url", "logout_url", "failure_url",
            "authority_host", "graph_url",
        )
        # Write-only: the stored secret is never read into the form (nor validated, nor written back);
        # save() sets a typed one. So the page opens, and other fields save, when FIELD_ENCRYPTION_KEY
        # cannot decrypt the stored secret, and a blank field leaves its ciphertext as it is.
        exclude = ("client_secret",)  # noqa: DJ006 - on top of `fields`, which still lists what is edited
        widgets = {
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
        field = self.fields["client_secret"]
        field.help_text = str(MicrosoftSettings._meta.get_field("client_secret").help_text)
        if self.instance.pk and not self.instance.secret_readable:
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
        if self.cleaned_data.get("client_secret"):  # blank keeps what is stored
            self.instance.client_secret = self.cleaned_data["client_secret"]
        return super().save(commit)

    def _secret_stored(self) -> bool:
        """A secret is stored: one the key cannot decrypt counts too (it is kept, not missing)."""
        ms = self.instance
        return bool(ms.pk) and (not ms.secret_readable or bool(ms.client_secret))

    def clean_default_scopes(self) -> str:
        return self.clean_scope_field("default_scopes")

    def clean_allowed_tenant_ids(self) -> str:
        return "\n".join(split_tenant_ids(self.cleaned_data["allowed_tenant_ids"]))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("enabled"):
            present = {"client_id": data.get("client_id"),
                       "client_secret": data.get("client_secret") or self._secret_stored()}
            missing = [
                label for name, label in (("client_id", "Application (client) ID"), ("client_secret", "Client secret"))
                if not present[name]
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
