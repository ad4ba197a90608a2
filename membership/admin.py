"""Admin: the single Microsoft settings page (with its sign-in modes) and members' accounts."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from membership.forms import MicrosoftSettingsForm, SignInModeForm
from membership.models import MicrosoftAccount, MicrosoftSettings, RefreshSweep, SignInMode

UNREADABLE_SECRET = (
    "A stored client secret or certificate private key cannot be decrypted with FIELD_ENCRYPTION_KEY: sign-in and "
    "application calls fail until it can. Restore the key it was written with (list old keys after the new one, "
    "comma-separated), or enter the client secret (or upload the certificate) again below."
)


_current_request: ContextVar[HttpRequest | None] = ContextVar("microsoft_settings_admin_request", default=None)


class SignInModeInline(admin.TabularInline):
    model = SignInMode
    form = SignInModeForm
    extra = 0
    fields = (
        "name", "enabled", "override_default_scopes", "scopes", "callback_url", "logout_url", "failure_url", "role",
    )


@admin.register(MicrosoftSettings)
class MicrosoftSettingsAdmin(admin.ModelAdmin):
    form = MicrosoftSettingsForm
    inlines = [SignInModeInline]
    readonly_fields = ("redirect_uri", "secret_status", "certificate_status")
    fieldsets = (
        (None, {"fields": ("enabled",)}),
        (
            "App registration",
            {"fields": ("client_id", "credential", "redirect_uri")},
        ),
        ("Client secret", {"fields": ("client_secret", "secret_status", "client_secret_expires_on")}),
        (
            "Certificate",
            {"fields": ("certificate_status", "certificate_file", "certificate_password", "generate_certificate",
                        "discard_next_certificate")},
        ),
        ("Who may sign in", {"fields": ("tenant", "allowed_tenant_ids", "default_role")}),
        ("Permissions", {"fields": ("default_scopes", "app_tenant_id")}),
        ("Pages", {"fields": ("callback_url", "logout_url", "failure_url")}),
        ("Endpoints", {"classes": ("collapse",), "fields": ("authority_host", "graph_url")}),
    )

    @admin.display(description="Redirect URI to register")
    def redirect_uri(self, obj: MicrosoftSettings) -> str:
        request = _current_request.get()
        path = reverse("membership:callback")
        uri = request.build_absolute_uri(path) if request else path
        return format_html(
            "<code>{}</code><br>Add it in the Azure portal → your app → Authentication → Web → Redirect URIs.",
            uri,
        )

    @admin.display(description="Stored secret")
    def secret_status(self, obj: MicrosoftSettings) -> str:
        if obj.pk and not obj.client_secret_readable:
            return f"⚠ {UNREADABLE_SECRET}"
        if not obj.pk or not obj.client_secret:
            return "No secret stored."
        warning = obj.secret_expiry_warning()
        return f"Ends in {obj.secret_hint}." + (f" ⚠ {warning}" if warning else "")

    @admin.display(description="Stored certificates")
    def certificate_status(self, obj: MicrosoftSettings) -> str:
        """Thumbprints, subject and expiry as the Azure portal lists them, with the public certificate to
        download for upload there. The private key is never shown."""
        slots = [("current", "Current (tokens are requested with it)", obj.current_certificate),
                 ("next", "Next (becomes current once Test configuration sees Microsoft accept it)",
                  obj.pending_certificate)]
        rows = []
        for slot, title, cert in slots:
            if cert is None:
                continue
            left = (cert.not_after - timezone.now()).days
            warning = "expired" if left < 0 else f"expires in {left} days" if left < 30 else ""
            rows.append((
                title, cert.thumbprint, cert.thumbprint_sha256, cert.subject, f"{cert.not_after:%d %b %Y %H:%M} UTC",
                f" ⚠ {warning}" if warning else "",
                reverse("admin:membership_microsoftsettings_certificate", args=[slot, "cer"]),
                reverse("admin:membership_microsoftsettings_certificate", args=[slot, "pem"]),
            ))
        if not rows:
            return "No certificate stored. Upload one or generate one below."
        return format_html_join(
            "", "<p><strong>{}</strong><br>Thumbprint (SHA-1): <code>{}</code><br>Thumbprint (SHA-256): "
            "<code>{}</code><br>Subject: {}<br>Expires: {}{}<br>Download the public certificate: "
            "<a href=\"{}\">.cer</a> · <a href=\"{}\">.pem</a> — upload it in the Azure portal → your app → "
            "Certificates & secrets → Certificates.</p>", rows)

    def get_urls(self) -> list[Any]:
        return [path("certificate/<slug:slot>.<slug:fmt>", self.admin_site.admin_view(self.download_certificate),
                     name="membership_microsoftsettings_certificate"), *super().get_urls()]

    def download_certificate(self, request: HttpRequest, slot: str, fmt: str) -> HttpResponse:
        """The public certificate of a slot, as ``.cer`` (DER) or ``.pem``, for the Azure portal."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        ms = MicrosoftSettings.load()
        cert = {"current": ms.current_certificate, "next": ms.pending_certificate}.get(slot)
        if cert is None or fmt not in ("cer", "pem"):
            raise Http404("No such certificate.")
        if fmt == "cer":
            body, kind = cert.der, "application/pkix-cert"
        else:
            body, kind = cert.pem.encode(), "application/x-pem-file"
        response = HttpResponse(body, content_type=kind)
        response["Content-Disposition"] = f'attachment; filename="microsoft-{cert.thumbprint}.{fmt}"'
        return response

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not MicrosoftSettings.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        # One row: open it directly.
        obj = MicrosoftSettings.load()
        return HttpResponseRedirect(reverse("admin:membership_microsoftsettings_change", args=[obj.pk]))

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        if request.method == "GET":
            obj = self.get_object(request, object_id)
            if obj is not None and not obj.secret_readable:
                messages.warning(request, UNREADABLE_SECRET)
            if obj is not None and (warning := obj.credential_expiry_warning()):
                messages.warning(request, warning)
        # The request reaches redirect_uri through a context variable: this ModelAdmin instance
        # is shared by every thread of the server.
        token = _current_request.set(request)
        try:
            response = super().change_view(request, object_id, form_url, extra_context)
            if isinstance(response, TemplateResponse):
                response.render()  # while the request is known: a TemplateResponse renders late
            return response
        finally:
            _current_request.reset(token)

    def save_form(self, request: HttpRequest, form: Any, change: bool) -> Any:
        for note in form.notes:
            messages.info(request, note)
        return super().save_form(request, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        for f in formset.forms:
            for note in getattr(f, "notes", []):
                messages.info(request, note)
        super().save_formset(request, form, formset, change)


class MicrosoftAccountInline(admin.TabularInline):  # type: ignore[type-arg]
    """For the site's own user admin: the member's Microsoft accounts, read-only (tokens never shown).
    ``inlines = [MicrosoftAccountInline]`` on it (the reference site's is project/admin.py)."""

    model = MicrosoftAccount
    fk_name = "user"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = ("username", "display_name", "tenant_id", "status", "granted_scopes", "last_refreshed_at")
    readonly_fields = fields
    verbose_name_plural = "Microsoft accounts"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(MicrosoftAccount)
class MicrosoftAccountAdmin(admin.ModelAdmin):
    list_display = ("username", "user", "tenant_id", "status", "last_refreshed_at")
    list_filter = ("status", "tenant_id", "mode")

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        # The member by the fields the site's user model has.
        User = get_user_model()
        member = dict.fromkeys([f"user__{User.USERNAME_FIELD}", f"user__{User.get_email_field_name()}"])
        return ("username", "display_name", "object_id", *member)
    # Tokens are never shown: only their expiry.
    fields = (
        "user", "tenant_id", "object_id", "username", "display_name", "granted_scopes", "mode",
        "access_token_expires_at", "last_refreshed_at", "status", "last_error", "created_at",
    )
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(RefreshSweep)
class RefreshSweepAdmin(admin.ModelAdmin):
    """The background renewals: when each ran and what it did. The schedule itself is under
    Periodic tasks (“Renew Microsoft refresh tokens”)."""

    list_display = ("started_at", "finished_at", "due", "refreshed", "failed", "needs_reconsent", "progress", "note")
    readonly_fields = ("started_at", "finished_at", "renewed_before", "due", "refreshed", "failed",
                       "needs_reconsent", "batches", "batches_done", "note")
    change_list_template = "admin/membership/refreshsweep/change_list.html"

    @admin.display(description="Batches done")
    def progress(self, obj: RefreshSweep) -> str:
        return f"{obj.batches_done}/{obj.batches}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_urls(self) -> list[Any]:
        from django.urls import path

        return [path("run/", self.admin_site.admin_view(self.run_now), name="membership_refreshsweep_run"),
                *super().get_urls()]

    def run_now(self, request: HttpRequest) -> HttpResponse:
        from django.core.exceptions import PermissionDenied

        if request.method != "POST" or not self.has_view_permission(request):
            raise PermissionDenied
        from membership.tasks import sweep_refresh_tokens

        try:
            sweep_refresh_tokens.delay()
        except Exception:  # the broker is down
            messages.error(request, "The task queue is unavailable: start Redis (or the worker) and try again.")
        else:
            messages.success(request, "A refresh sweep was queued; it appears here when a worker picks it up.")
        return HttpResponseRedirect(reverse("admin:membership_refreshsweep_changelist"))
