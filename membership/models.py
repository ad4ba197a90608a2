"""Microsoft sign-in configuration (one settings row, named sign-in modes) and members' links."""

from __future__ import annotations

import time
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone

from membership.certificates import Certificate
from membership.failures import SignInFailure
from membership.lib.encryption import EncryptedTextField, UndecryptableValue
from membership.scopes import OIDC_SCOPES, parse_scopes
from membership.validators import (
    split_tenant_ids,
    validate_authority_host,
    validate_graph_url,
    validate_guid,
    validate_guid_list,
    validate_http_url,
    validate_scopes,
    validate_tenant,
)

SECRET_EXPIRY_WARNING = timedelta(days=30)
# An access token is reused while it has more than this left (MSAL itself treats tokens with under
# 5 minutes left as expired).
REUSE_MARGIN = timedelta(minutes=5)
CURRENT_MEMO_SECONDS = 5.0
_current: dict[str, tuple[MicrosoftSettings, float]] = {}


class MicrosoftSettingsManager(models.Manager["MicrosoftSettings"]):
    """Rows come without the client secret and the certificates' private keys: they are decrypted only
    where they are used, so pages and calls that do not need them keep working when
    FIELD_ENCRYPTION_KEY is wrong."""

    def get_queryset(self) -> models.QuerySet[MicrosoftSettings]:
        return super().get_queryset().defer(*CREDENTIAL_SECRETS)


# The encrypted credential fields (all deferred; re-encrypted by reencrypt_secrets like every EncryptedTextField).
CREDENTIAL_SECRETS = ("client_secret", "certificate_key", "next_certificate_key")


class MicrosoftAccountQuerySet(models.QuerySet["MicrosoftAccount"]):
    def with_tokens(self) -> MicrosoftAccountQuerySet:
        """Load the encrypted tokens too (raises UndecryptableValue on a wrong key)."""
        return self.defer(None)

    def only(self, *fields: str) -> MicrosoftAccountQuerySet:  # type: ignore[override]
        # only() after the manager's defer() would load neither token even when asked for one
        # (Django's refresh_from_db of a deferred field, reencrypt_secrets): start from no deferral.
        return models.QuerySet.only(self.defer(None), *fields)

    def connected(self) -> MicrosoftAccountQuerySet:
        """Accounts not disconnected by their member (active, or waiting for them to reconnect)."""
        return self.exclude(status=MicrosoftAccount.Status.REVOKED)

    def of_member(self, user: Any) -> MicrosoftAccount | None:
        """The account the platform acts with for ``user`` (an instance or a user id): of their
        connected accounts, the one renewed last."""
        user_id = getattr(user, "pk", user)
        return self.connected().filter(user_id=user_id).order_by("-last_refreshed_at", "-pk").first()


class MicrosoftAccountManager(models.Manager.from_queryset(MicrosoftAccountQuerySet)):  # type: ignore[misc]
    """Rows come without their tokens: only the code that uses them (``with_tokens()``) decrypts them."""

    def get_queryset(self) -> MicrosoftAccountQuerySet:
        return super().get_queryset().defer("access_token", "refresh_token")


class MicrosoftSettings(models.Model):
    """The site's Microsoft Entra app registration and sign-in choices. Exactly one row (pk=1)."""

    class Credential(models.TextChoices):
        SECRET = "secret", "Client secret"
        CERTIFICATE = "certificate", "Certificate"

    enabled = models.BooleanField(
        "Sign in with Microsoft enabled",
        default=False,
        help_text="Off: the sign-in button is hidden and Graph functions answer MicrosoftAuthDisabled.",
    )
    client_id = models.CharField(
        "Application (client) ID",
        max_length=36,
        blank=True,
        validators=[validate_guid],
        help_text="Azure portal → App registrations → your app → Overview → Application (client) ID.",
    )
    client_secret = EncryptedTextField(
        "Client secret",
        blank=True,
        help_text="Azure portal → your app → Certificates & secrets → Client secrets → Value "
        "(copy it when created; the portal shows it only once). Stored encrypted; never shown again.",
    )
    client_secret_expires_on = models.DateField(
        "Client secret expires on",
        null=True,
        blank=True,
        help_text="The “Expires” column next to the secret in Certificates & secrets. "
        "The admin warns 30 days before.",
    )
    credential = models.CharField(
        "Credential",
        max_length=20,
        choices=Credential.choices,
        default=Credential.SECRET,
        help_text="What the site proves itself with when it asks Microsoft for tokens: a client secret, or a "
        "certificate (a signed assertion; required by organisations that forbid client secrets).",
    )
    certificate = models.TextField(
        "Certificate",
        blank=True,
        help_text="The public certificate (PEM) every token request is signed for. Upload it in the Azure portal "
        "→ your app → Certificates & secrets → Certificates.",
    )
    certificate_key = EncryptedTextField("Certificate private key", blank=True)
    next_certificate = models.TextField(
        "Next certificate",
        blank=True,
        help_text="A new certificate during a rollover. Tokens keep using the current one until Test "
        "configuration has seen Microsoft accept this one; then it becomes the current certificate.",
    )
    next_certificate_key = EncryptedTextField("Next certificate private key", blank=True)
    tenant = models.CharField(
        "Tenant",
        max_length=253,
        default="organizations",
        validators=[validate_tenant],
        help_text="Who may sign in. Your Directory (tenant) ID or verified domain for a single-tenant app; "
        "“organizations” (any work or school account), “common” (also personal accounts) or "
        "“consumers” — must match “Supported account types” under Authentication in the Azure portal.",
    )
    allowed_tenant_ids = models.TextField(
        "Allowed tenant IDs",
        blank=True,
        validators=[validate_guid_list],
        help_text="With a multi-tenant value above, only these Directory (tenant) IDs may sign in. One per "
        "line; empty allows every tenant.",
    )
    authority_host = models.CharField(
        "Authority host",
        max_length=200,
        validators=[validate_authority_host],
        default="https://login.microsoftonline.com",
        help_text="Azure portal → your app → Endpoints. Change only for a sovereign cloud (e.g. "
        "https://login.microsoftonline.us) or the local emulator.",
    )
    graph_url = models.CharField(
        "Microsoft Graph URL",
        max_length=200,
        validators=[validate_graph_url],
        default="https://graph.microsoft.com",
        help_text="The Graph endpoint of your cloud (e.g. https://graph.microsoft.us), or the local emulator.",
    )
    default_scopes = models.TextField(
        "Default scopes",
        blank=True,
        default="User.Read",
        validators=[validate_scopes],
        help_text="Delegated permissions members consent to at sign-in — Azure portal → your app → API "
        "permissions. Separate with spaces, commas or new lines. openid, profile and offline_access "
        "are always requested.",
    )
    app_tenant_id = models.CharField(
        "App tenant ID",
        max_length=36,
        blank=True,
        validators=[validate_guid],
        help_text="Directory (tenant) ID whose data application-permission calls use (client "
        "credentials). Azure portal → Microsoft Entra ID → Overview → Tenant ID.",
    )
    callback_url = models.CharField(
        "After sign-in URL",
        max_length=500,
        blank=True,
        validators=[validate_http_url],
        help_text="Where members land after signing in (absolute URL). Empty: their account page. "
        "Not the Redirect URI registered in Azure (shown under App registration).",
    )
    logout_url = models.CharField(
        "After sign-out URL",
        max_length=500,
        blank=True,
        validators=[validate_http_url],
        help_text="Where members land after signing out; register it as the Front-channel logout URL.",
    )
    failure_url = models.CharField(
        "Failure URL",
        max_length=500,
        blank=True,
        validators=[validate_http_url],
        help_text="Where a failed sign-in goes, with ?f=<error code>. Empty: a page explaining the error.",
    )
    default_role = models.ForeignKey(
        Group,
        verbose_name="Default role",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Group given to members created by Microsoft sign-in.",
    )
    reactivate_returning_members = models.BooleanField(
        "Reactivate members enabled again in Entra",
        default=False,
        help_text="Off: a member the directory sync deactivated (disabled or deleted in Entra) stays deactivated "
        "here when their Entra account is enabled or restored; an administrator reactivates them. On: the sync "
        "reactivates them.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    objects = MicrosoftSettingsManager()

    class Meta:
        verbose_name = "Microsoft settings"
        verbose_name_plural = "Microsoft settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="microsoft_settings_single_row")]

    def __str__(self) -> str:
        return "Microsoft settings"

    def save(self, *args: object, **kwargs: object) -> None:
        self.pk = 1
        # GUIDs and domains are case-insensitive; store them one way so comparisons are plain.
        self.client_id = self.client_id.strip().lower()
        self.app_tenant_id = self.app_tenant_id.strip().lower()
        self.tenant = self.tenant.strip().lower()
        self.default_scopes = str(parse_scopes(self.default_scopes))
        self.allowed_tenant_ids = "\n".join(self.allowed_tenants)
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def load(cls) -> MicrosoftSettings:
        """The row to change (made on first use): the admin and manage.py microsoft_settings."""
        obj, _ = cls.objects.get_or_create(pk=1)
        return obj

    @classmethod
    def current(cls) -> MicrosoftSettings:
        """The settings to act on, memoised in this process for CURRENT_MEMO_SECONDS: saving or
        deleting the row forgets the memo here (membership.signals), other processes see a change
        within that time. Before the first save: an unsaved row with the defaults (switched off)."""
        memo = _current.get("row")
        now = time.monotonic()
        if memo is not None and now - memo[1] <= CURRENT_MEMO_SECONDS:
            return memo[0]
        row = cls.objects.first()  # the only row there can be (the check constraint)
        if row is None:
            return cls()  # not memoised: the first save takes effect at once in every process
        _current["row"] = (row, now)
        return row

    @classmethod
    def forget(cls, **kwargs: Any) -> None:
        """Forget the memo of current() in this process (a signal receiver, hence ``**kwargs``)."""
        _current.pop("row", None)

    @classmethod
    def require_enabled(cls) -> MicrosoftSettings:
        """current(), when Microsoft sign-in is switched on and has its credential; else SignInFailure
        ``disabled`` (or ``secret_unreadable`` when the stored credential cannot be decrypted: the site is
        configured and its administrator has something to fix)."""
        ms = cls.current()
        if not ms.enabled or not ms.client_id or not ms.has_credential():
            raise SignInFailure("disabled")
        return ms

    def credential_value(self, name: str) -> str:
        """A stored credential (``client_secret`` or a certificate's private key), decrypted; SignInFailure
        ``secret_unreadable`` when FIELD_ENCRYPTION_KEY cannot decrypt it."""
        try:
            return str(getattr(self, name))
        except UndecryptableValue:
            what = "client secret" if name == "client_secret" else "certificate private key"
            raise SignInFailure("secret_unreadable", f"{what} undecryptable") from None

    def has_credential(self) -> bool:
        """Whether the credential chosen in the settings is stored (``secret_unreadable`` when it is stored
        but cannot be decrypted)."""
        if self.uses_certificate:
            return bool(self.certificate) and bool(self.credential_value("certificate_key"))
        return bool(self.credential_value("client_secret"))

    @property
    def default_scope_list(self) -> list[str]:
        return parse_scopes(self.default_scopes).scopes

    def scopes_for(self, mode: SignInMode | None) -> list[str]:
        """The scopes a sign-in asks for: no mode → the default scopes; a mode that overrides → its
        scopes only; else the default scopes and the mode's."""
        if mode is None:
            return self.default_scope_list
        if mode.override_default_scopes:
            return mode.scope_list
        merged = {s.lower(): s for s in self.default_scope_list}
        for scope in mode.scope_list:
            merged.setdefault(scope.lower(), scope)
        return list(merged.values())

    @property
    def allowed_tenants(self) -> list[str]:
        return split_tenant_ids(self.allowed_tenant_ids)

    def _readable(self, name: str) -> bool:
        try:
            getattr(self, name)  # loads (and decrypts) the deferred field
        except UndecryptableValue:
            return False
        return True

    @property
    def secret_readable(self) -> bool:
        """False when a stored secret (the client secret or a certificate's private key) cannot be
        decrypted with FIELD_ENCRYPTION_KEY."""
        return all(self._readable(name) for name in CREDENTIAL_SECRETS)

    @property
    def client_secret_readable(self) -> bool:
        return self._readable("client_secret")

    @property
    def secret_hint(self) -> str:
        if not self.client_secret_readable:
            return ""
        return f"…{self.client_secret[-4:]}" if self.client_secret else ""

    @property
    def uses_certificate(self) -> bool:
        return self.credential == self.Credential.CERTIFICATE

    @property
    def current_certificate(self) -> Certificate | None:
        return Certificate(self.certificate) if self.certificate else None

    @property
    def pending_certificate(self) -> Certificate | None:
        """The next certificate of a rollover, not yet seen to work."""
        return Certificate(self.next_certificate) if self.next_certificate else None

    def credential_name(self, *, next_certificate: bool = False) -> str:
        """Which credential token requests use, named as the Azure portal lists it (never the secret)."""
        cert = self.pending_certificate if next_certificate else self.current_certificate
        if next_certificate or self.uses_certificate:
            if cert is None:
                return "no certificate"
            return f"certificate {cert.thumbprint} (SHA-1 thumbprint; expires {cert.not_after:%d %b %Y})"
        return f"client secret {self.secret_hint}" if self.secret_hint else "client secret"

    def store_certificate(self, private_key: str, certificate: Certificate) -> str:
        """Keep a new certificate: the current one when there is none, else the next one of a rollover
        (the current one stays in use until the new one is seen to work). Answers which slot it went to."""
        if self.certificate:
            self.next_certificate = certificate.pem
            self.next_certificate_key = private_key  # type: ignore[assignment]
            return "next"
        self.certificate = certificate.pem
        self.certificate_key = private_key  # type: ignore[assignment]
        return "current"

    def promote_next_certificate(self) -> None:
        """The next certificate has been seen to work: make it the current one, and forget the old one."""
        self.certificate = self.next_certificate
        self.certificate_key = self.next_certificate_key
        self.next_certificate = ""
        self.next_certificate_key = ""  # type: ignore[assignment]
        self.credential = self.Credential.CERTIFICATE
        self.save(update_fields=["certificate", "certificate_key", "next_certificate", "next_certificate_key",
                                 "credential", "updated_at"])

    def credential_expiry_warning(self, today: date | None = None) -> str:
        """A sentence when the credential in use has expired or expires within 30 days."""
        if not self.uses_certificate:
            return self.secret_expiry_warning(today)
        cert = self.current_certificate
        if cert is None:
            return ""
        today = today or timezone.localdate()
        expires = cert.not_after.date()
        left = (expires - today).days
        if left < 0:
            return (f"The certificate {cert.thumbprint} expired on {expires:%d %b %Y}: sign-in and Graph calls fail. "
                    "Generate or upload a new one here, register it in the Azure portal, and run Test configuration.")
        if left < SECRET_EXPIRY_WARNING.days:
            return (f"The certificate {cert.thumbprint} expires in {left} day{'s' if left != 1 else ''} "
                    f"({expires:%d %b %Y}). Generate or upload the next one here, register it in the Azure portal, "
                    "and run Test configuration before then.")
        return ""

    def secret_expiry_warning(self, today: date | None = None) -> str:
        """A sentence when the client secret has expired or expires within 30 days."""
        if not self.client_secret_expires_on:
            return ""
        today = today or timezone.localdate()
        left = (self.client_secret_expires_on - today).days
        if left < 0:
            return (
                f"The client secret expired on {self.client_secret_expires_on:%d %b %Y}: sign-in and Graph "
                "calls fail. Create a new secret in the Azure portal and enter it here."
            )
        if left < SECRET_EXPIRY_WARNING.days:
            return (
                f"The client secret expires in {left} day{'s' if left != 1 else ''} "
                f"({self.client_secret_expires_on:%d %b %Y}). Create a new secret in the Azure portal "
                "and enter it here before then."
            )
        return ""


class SignInMode(models.Model):
    """A named sign-in variant (``?mode=dev``) with its own scopes and landing pages."""

    settings = models.ForeignKey(MicrosoftSettings, on_delete=models.CASCADE, related_name="modes")
    name = models.SlugField(
        "Name",
        max_length=50,
        unique=True,
        help_text="Used in the sign-in link: /auth/microsoft/login/?mode=<name>. Letters, digits, - and _.",
    )
    enabled = models.BooleanField(default=True)
    override_default_scopes = models.BooleanField(
        "Override default scopes",
        default=False,
        help_text="On: request only this mode's scopes. Off: the default scopes plus these.",
    )
    scopes = models.TextField(
        "Scopes",
        blank=True,
        validators=[validate_scopes],
        help_text="Delegated permissions (Azure portal → API permissions), separated by spaces, commas or new lines.",
    )
    callback_url = models.CharField("After sign-in URL", max_length=500, blank=True, validators=[validate_http_url])
    logout_url = models.CharField("After sign-out URL", max_length=500, blank=True, validators=[validate_http_url])
    failure_url = models.CharField("Failure URL", max_length=500, blank=True, validators=[validate_http_url])
    role = models.ForeignKey(
        Group,
        verbose_name="Role",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Group given to members created through this mode (instead of the default role).",
    )

    class Meta:
        ordering = ["name"]
        verbose_name = "sign-in mode"

    def __str__(self) -> str:
        return self.name

    def save(self, *args: object, **kwargs: object) -> None:
        self.scopes = str(parse_scopes(self.scopes))
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    @classmethod
    def named(cls, name: str | None) -> SignInMode | None:
        """The enabled mode called ``name``; None for no name; SignInFailure for unknown or disabled."""
        if not name:
            return None
        mode = cls.objects.filter(name=name, enabled=True).first()
        if mode is None:
            raise SignInFailure("unknown_mode", name[:50])
        return mode

    @property
    def scope_list(self) -> list[str]:
        return parse_scopes(self.scopes).scopes


class MicrosoftAccount(models.Model):
    """A member's link to a Microsoft identity, with their tokens (encrypted)."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        NEEDS_RECONSENT = "needs_reconsent", "Sign-in needed"  # last_error says why (consent, MFA, CA…)
        REVOKED = "revoked", "Revoked"

    class Left(models.TextChoices):
        DISABLED = "disabled", "Disabled in Entra"
        DELETED = "deleted", "Deleted in Entra"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="microsoft_accounts")
    tenant_id = models.CharField("Tenant ID (tid)", max_length=36)
    object_id = models.CharField("Object ID (oid)", max_length=36)
    username = models.CharField("User principal name", max_length=255, blank=True)
    display_name = models.CharField(max_length=255, blank=True)
    email = models.EmailField(
        "E-mail from Microsoft", blank=True,
        help_text="The address Microsoft gave at the last sign-in. The member's e-mail follows it, unless it was "
                  "changed on this site.",
    )
    job_title = models.CharField("Job title", max_length=255, blank=True,
                                 help_text="From the directory sync (Entra's jobTitle).")
    granted_scopes = models.TextField(blank=True)
    mode = models.CharField(max_length=50, blank=True)
    access_token = EncryptedTextField(blank=True)
    access_token_expires_at = models.DateTimeField(null=True, blank=True)
    refresh_token = EncryptedTextField(blank=True)
    last_refreshed_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    last_error = models.TextField(blank=True)
    directory = models.JSONField(
        "What Entra said", default=dict, blank=True,
        help_text="The app roles, mapped groups and directory roles Entra reported at the last sign-in or sync "
                  "(what role mappings are applied from), and when.",
    )
    left_directory = models.CharField(
        "Left the directory", max_length=20, blank=True, choices=Left.choices,
        help_text="Why the directory sync deactivated the member, if it did (empty: it did not).",
    )
    left_directory_at = models.DateTimeField(null=True, blank=True)
    flags_from_mapping = models.JSONField(
        default=list, blank=True,
        help_text="is_staff / is_superuser as granted by a role mapping: only these are taken away again when no "
                  "mapping grants them any more.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MicrosoftAccountManager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["tenant_id", "object_id"], name="unique_microsoft_identity")]
        verbose_name = "Microsoft account"
        # Related lookups (a user's deletion page lists their accounts) load no tokens either.
        base_manager_name = "objects"

    def __str__(self) -> str:
        return self.username or self.object_id

    def refresh_from_db(self, using: str | None = None, fields: Any = None, from_queryset: Any = None) -> None:
        # The base manager leaves the tokens out; reload every field this instance holds, tokens
        # included, as refresh_from_db() does for other models.
        if fields is None and from_queryset is None:
            deferred = self.get_deferred_fields()
            fields = [f.attname for f in self._meta.concrete_fields if f.attname not in deferred]
        super().refresh_from_db(using=using, fields=fields, from_queryset=from_queryset)

    def has_fresh_access_token(self) -> bool:
        """The stored access token has more than REUSE_MARGIN left (raises UndecryptableValue on a wrong key)."""
        return bool(
            self.access_token
            and self.access_token_expires_at
            and self.access_token_expires_at - timezone.now() > REUSE_MARGIN
        )

    def store_tokens(self, result: dict[str, Any]) -> None:
        """Replace the stored tokens with a fresh token response (sign-in or refresh) and save.

        The caller holds the row: a new account, or one it locked (``select_for_update``) and re-read,
        so it can keep what another process stored meanwhile instead (membership.tokens does).
        """
        now = timezone.now()
        self.access_token = result.get("access_token", "")
        expires_in = int(result.get("expires_in") or 0)
        self.access_token_expires_at = now + timedelta(seconds=expires_in) if self.access_token else None
        if result.get("refresh_token"):
            self.refresh_token = result["refresh_token"]
        granted = [s for s in str(result.get("scope", "")).split() if s.lower() not in OIDC_SCOPES]
        if granted:
            self.granted_scopes = " ".join(granted)
        self.last_refreshed_at = now
        self.status = MicrosoftAccount.Status.ACTIVE
        self.last_error = ""
        self.save()

    def disconnect(self) -> None:
        """Forget the tokens; keep the (tid, oid) link so signing in again finds the same member.

        Under the row's lock: a renewal finishing meanwhile re-reads the row, sees the account
        revoked and keeps it so (membership.tokens).
        """
        with transaction.atomic():
            MicrosoftAccount.objects.select_for_update().only("pk").get(pk=self.pk)
            self.granted_scopes = ""
            self.save(update_fields=[*self.revoke_tokens(), "granted_scopes", "updated_at"])

    def revoke_tokens(self) -> list[str]:
        """Drop the tokens and mark the account revoked, unsaved; the fields changed. The caller holds the
        row's lock and saves (disconnect(), and the directory sync's deactivation)."""
        # (django-stubs types the untyped encrypted field as the field class itself.)
        self.access_token = ""  # type: ignore[assignment]
        self.refresh_token = ""  # type: ignore[assignment]
        self.access_token_expires_at = None
        self.status = MicrosoftAccount.Status.REVOKED
        return ["access_token", "refresh_token", "access_token_expires_at", "status"]


class RefreshSweep(models.Model):
    """One run of the background renewal of members' refresh tokens."""

    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    renewed_before = models.DateTimeField(help_text="Accounts last renewed before this were due.")
    due = models.PositiveIntegerField(default=0)
    refreshed = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0, help_text="Temporary failures; retried by the next sweep.")
    needs_reconsent = models.PositiveIntegerField(default=0)
    batches = models.PositiveIntegerField(default=0)
    batches_done = models.PositiveIntegerField(default=0)
    note = models.CharField(max_length=300, blank=True,
                            help_text="Why the sweep renewed nothing, or why a batch failed as a whole.")

    class Meta:
        ordering = ["-started_at"]
        verbose_name = "refresh sweep"

    def __str__(self) -> str:
        return f"Sweep {self.started_at:%Y-%m-%d %H:%M}"


class RoleMapping(models.Model):
    """What a member holds in Entra (an app role, a group, a directory role) → Django groups and flags.

    Applied at every sign-in and by the directory sync (membership.roles)."""

    class Source(models.TextChoices):
        APP_ROLE = "app_role", "App role (value)"
        GROUP = "group", "Entra group (object id)"
        DIRECTORY_ROLE = "directory_role", "Directory role (template id)"

    source = models.CharField("Entra source", max_length=20, choices=Source.choices)
    value = models.CharField(
        "Value", max_length=255,
        help_text="An app role's Value (Azure portal → your app → App roles), a group's Object ID (Microsoft Entra "
                  "ID → Groups) or a directory role's template ID (Entra ID → Roles and administrators).",
    )
    groups = models.ManyToManyField(Group, blank=True, related_name="+", verbose_name="Django groups",
                                    help_text="Given while the member holds the source; taken away when they no "
                                              "longer do.")
    grants_staff = models.BooleanField("Grants staff status (is_staff)", default=False)
    grants_superuser = models.BooleanField("Grants superuser status (is_superuser)", default=False)
    display_name = models.CharField(
        "Name in Entra", max_length=255, blank=True, editable=False,
        help_text="The group's display name, looked up through Microsoft Graph when saved.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["source", "value"]
        verbose_name = "role mapping"
        constraints = [models.UniqueConstraint(fields=["source", "value"], name="unique_role_mapping_source")]

    def __str__(self) -> str:
        return f"{self.get_source_display()}: {self.display_name or self.value}"

    def save(self, *args: object, **kwargs: object) -> None:
        # Object ids and template ids are GUIDs (case-insensitive); app role values are compared as Entra sends them.
        self.value = self.value.strip()
        if self.source != self.Source.APP_ROLE:
            self.value = self.value.lower()
        super().save(*args, **kwargs)  # type: ignore[arg-type]

    def clean(self) -> None:
        if self.source != self.Source.APP_ROLE:
            try:
                validate_guid(self.value.strip())
            except ValidationError as exc:
                raise ValidationError({"value": exc.messages}) from None
