"""Admin for Graph functions: configuration checks and cache on the Microsoft settings page, API
keys, the function call log, and members' Entra directory roles on the user page.

membership never imports graphfns, so its settings page is extended here: its admin class is
subclassed and registered again in place of membership's. The site's user admin is the site's own:
``MemberGraphAdminMixin`` adds the directory roles section to it, if the site wants it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connections
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

import graphfns
from graphfns.app_tokens import clear_app_token_cache
from graphfns.call_stats import stats_retention_days, trend_charts
from graphfns.errors import CATALOG, FunctionError
from graphfns.models import ApiKey, DailyCallStats, FunctionCall, forget_api_keys
from graphfns.registry import load
from graphfns.retention import purge, purge_summary, retention_days
from membership import admin as membership_admin
from membership.models import MicrosoftAccount, MicrosoftSettings
from membership.validators import is_guid

User = get_user_model()


def _post_only(request: HttpRequest) -> HttpResponse | None:
    return None if request.method == "POST" else HttpResponseNotAllowed(["POST"])


def _describe(exc: FunctionError) -> str:
    return f"{exc.message} ({exc.code})"


# -- Microsoft settings: "Test configuration" and "Clear Microsoft functions cache" -------------


class MicrosoftSettingsAdmin(membership_admin.MicrosoftSettingsAdmin):
    change_form_template = "graphfns/admin/microsoftsettings_change_form.html"

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/test-configuration/", view(self.test_configuration_view),
                 name=f"{name}_test_configuration"),
            path("<path:object_id>/clear-cache/", view(self.clear_cache_view), name=f"{name}_clear_cache"),
            *super().get_urls(),
        ]

    def _editable(self, request: HttpRequest, object_id: str) -> MicrosoftSettings:
        obj = self.get_object(request, object_id)
        if obj is None or not self.has_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def test_configuration_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if refused := _post_only(request):
            return refused
        obj = self._editable(request, object_id)
        from graphfns.diagnostics import run_checks

        checks = run_checks()
        context = {
            **self.admin_site.each_context(request),
            "title": "Test configuration",
            "opts": self.opts,
            "original": obj,
            "checks": checks,
            "all_ok": all(c.ok for c in checks),
            "failed": sum(1 for c in checks if not c.ok),
        }
        response = TemplateResponse(request, "graphfns/admin/test_configuration.html", context)
        add_never_cache_headers(response)
        return response

    def clear_cache_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        if refused := _post_only(request):
            return refused
        obj = self._editable(request, object_id)
        had_token = clear_app_token_cache()
        messages.success(request, "Cleared the Microsoft functions cache: the next application call gets a new "
                         "token from Microsoft." + ("" if had_token else " (No token was cached.)"))
        return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                                            args=[obj.pk]))


admin.site.unregister(MicrosoftSettings)
admin.site.register(MicrosoftSettings, MicrosoftSettingsAdmin)


# -- API keys ---------------------------------------------------------------------------------


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ("name", "allowed_functions", "delegated_only")

    def clean_allowed_functions(self) -> str:
        key = ApiKey(allowed_functions=self.cleaned_data["allowed_functions"])
        known = load()
        families = {fn.family for fn in known.values()}
        unknown = [p for p in key.function_patterns
                   if p not in known and not (p.endswith(".*") and p[:-2] in families)]
        if unknown:
            raise forms.ValidationError(
                f"No such function: {', '.join(unknown)}. Use names such as users.get, or a family such as "
                f"calendar.* ({', '.join(sorted(families))}).")
        return "\n".join(key.function_patterns)


class RevokedFilter(admin.SimpleListFilter):
    title = "revoked"
    parameter_name = "revoked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("no", "Active"), ("yes", "Revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        if self.value() in ("yes", "no"):
            return queryset.filter(revoked_at__isnull=self.value() == "no")
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are made here and shown once; only a prefix identifies them afterwards (the hash never shows)."""

    form = ApiKeyForm
    list_display = ("name", "key_prefix", "functions", "delegated_only", "created_at", "last_used_at", "revoked")
    list_filter = (RevokedFilter, "delegated_only")
    search_fields = ("name", "prefix")
    actions = ["revoke"]
    info_fields = ("key_prefix", "created_at", "last_used_at", "revoked_at")

    def get_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return ("name", "allowed_functions", "delegated_only", *(self.info_fields if obj else ()))

    def get_readonly_fields(self, request: HttpRequest, obj: ApiKey | None = None) -> Any:
        return self.info_fields if obj else ()

    @admin.display(description="Key", ordering="prefix")
    def key_prefix(self, obj: ApiKey) -> str:
        return f"{obj.prefix}…"

    @admin.display(description="Functions")
    def functions(self, obj: ApiKey) -> str:
        return ", ".join(obj.function_patterns) or "all"

    @admin.display(description="Revoked", boolean=True, ordering="revoked_at")
    def revoked(self, obj: ApiKey) -> bool:
        return obj.revoked_at is not None

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        forget_api_keys()  # update() sends no post_save: refuse the keys in this process at once
        messages.success(request, f"Revoked {count} API key{'' if count == 1 else 's'}. Calls with "
                         f"{'it' if count == 1 else 'them'} now fail with AuthenticationRequired.")

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key, secret = ApiKey.issue(obj.name, allowed_functions=obj.allowed_functions,
                                   delegated_only=obj.delegated_only)
        obj.__dict__.update(key.__dict__)
        # Kept on this request only, for response_add's one-time page; never stored or sent again.
        request.issued_api_key_secret = secret  # type: ignore[attr-defined]

    def response_add(self, request: HttpRequest, obj: ApiKey, post_url_continue: str | None = None) -> HttpResponse:
        secret = getattr(request, "issued_api_key_secret", None)
        if secret is None:
            return super().response_add(request, obj, post_url_continue)
        context = {
            **self.admin_site.each_context(request),
            "title": "Copy the new API key",
            "opts": self.opts,
            "original": obj,
            "secret": secret,
        }
        response = TemplateResponse(request, "graphfns/admin/api_key_issued.html", context)
        add_never_cache_headers(response)
        return response


# -- Function call log ------------------------------------------------------------------------

# Up to this many matching rows are counted exactly; beyond, PostgreSQL's planner estimates.
EXACT_COUNT_UP_TO = 10_000
ADMIN_PURGE_SECONDS = 20.0  # the purge button's share of a web request; batches beyond wait for the task
CALLER_KINDS = ("api-key", "user", "admin")  # how callers are named: "api-key:sync", "admin:ann"


class EstimatedCountPaginator(Paginator):
    """Counts at most EXACT_COUNT_UP_TO + 1 rows; a larger count is the planner's estimate on PostgreSQL.

    Counting 26 million rows exactly takes seconds and says nothing the estimate does not.
    """

    estimated = False

    @cached_property
    def count(self) -> int:
        queryset = cast("QuerySet[Any]", self.object_list).order_by()
        counted = queryset[:EXACT_COUNT_UP_TO + 1].count()
        if counted <= EXACT_COUNT_UP_TO or connections[queryset.db].vendor != "postgresql":
            if counted > EXACT_COUNT_UP_TO:
                return queryset.count()  # SQLite: small sites, exact
            return counted
        plan = json.loads(queryset.values("pk").explain(format="json"))
        self.estimated = True
        return max(counted, int(plan[0]["Plan"]["Plan Rows"]))


class ChoicesFromCode(admin.SimpleListFilter):
    """A call-log filter on the column named ``parameter_name``; subclasses list the choices from code
    (the registry, the catalog), never from a DISTINCT over the log."""

    def queryset(self, request: HttpRequest, queryset: QuerySet[FunctionCall]) -> QuerySet[FunctionCall]:
        return queryset.filter(**{str(self.parameter_name): self.value()}) if self.value() else queryset


class FunctionFilter(ChoicesFromCode):
    title = "function"
    parameter_name = "function"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(name, name) for name in sorted(load())]


class ErrorCodeFilter(ChoicesFromCode):
    title = "error code"
    parameter_name = "error_code"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(code, code) for code in sorted(CATALOG)]


class ModeFilter(ChoicesFromCode):
    title = "mode"
    parameter_name = "mode"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("delegated", "Delegated (for a member)"), ("application", "Application")]


@admin.register(FunctionCall)
class FunctionCallAdmin(admin.ModelAdmin):
    """Read-only: calls are written by graphfns.execute and removed only by the retention purge.

    Its pages cost the same at a thousand rows and at tens of millions: every filter and search is
    an exact match on an indexed column (FunctionCall.Meta.indexes), filter choices come from the
    registry and the catalog, counts are bounded (EstimatedCountPaginator), no date hierarchy.
    """

    change_list_template = "graphfns/admin/functioncall_change_list.html"
    list_display = ("created_at", "function", "caller", "acting_for", "status", "error_code", "duration",
                    "graph_requests", "request_id")
    list_filter = ("status", FunctionFilter, ErrorCodeFilter, ModeFilter, ("created_at", admin.DateFieldListFilter))
    list_select_related = ("acting_user",)
    search_fields = ("request_id",)  # shows the search box; get_search_results does the searching
    search_help_text = ("Exact match on a Graph request id, a function (users.get), a caller (api-key:sync, or "
                        "just sync), or a member's username or e-mail address. No partial matches: the log is "
                        "too large to scan.")
    paginator = EstimatedCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = ("created_at", "function", "caller", "acting_for", "mode", "status", "error_code", "duration",
              "graph_requests", "request_id")
    readonly_fields = fields

    @admin.display(description="Acting for")
    def acting_for(self, obj: FunctionCall) -> str:
        return obj.acting_for

    @admin.display(description="Duration", ordering="duration_ms")
    def duration(self, obj: FunctionCall) -> str:
        return f"{obj.duration_ms} ms"

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[FunctionCall],
                           search_term: str) -> tuple[QuerySet[FunctionCall], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        # One indexed column per kind of term: an OR across columns would keep PostgreSQL from
        # reading the newest rows straight off one (column, created_at) index.
        if term in load():
            return queryset.filter(function=term), False
        if is_guid(term):  # Graph's request-ids are GUIDs
            return queryset.filter(request_id=term.lower()), False
        match = Q(caller__in=[term, *(f"{kind}:{term}" for kind in CALLER_KINDS)])
        named = Q(**{User.USERNAME_FIELD: term}) | Q(**{f"{User.get_email_field_name()}__iexact": term})
        members = list(User.objects.filter(named).values_list("pk", flat=True)[:20])
        if members:
            match |= Q(acting_user__in=members)
        return queryset.filter(match), False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # the log is pruned by age, not picked over
        return actions

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_purge"
        return [path("purge/", self.admin_site.admin_view(self.purge_view), name=name), *super().get_urls()]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {**(extra_context or {}), "retention_days": retention_days(),
                 "can_purge": self.has_delete_permission(request), "exact_count_up_to": EXACT_COUNT_UP_TO}
        return super().changelist_view(request, extra)

    def purge_view(self, request: HttpRequest) -> HttpResponse:
        if refused := _post_only(request):
            return refused
        if not self.has_delete_permission(request):
            raise PermissionDenied
        done = purge(budget=ADMIN_PURGE_SECONDS)
        rest = "" if done.finished else (f" Stopped after {ADMIN_PURGE_SECONDS:g} seconds; the hourly scheduled "
                                         "purge (or manage.py purge_call_log) deletes the rest.")
        messages.success(request, purge_summary(done.deleted, done.days) + rest)
        return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_changelist"))


@admin.register(DailyCallStats)
class DailyCallStatsAdmin(admin.ModelAdmin):
    """Per function and UTC day, summed up from the call log and kept after it is purged; the page
    opens with charts of the last TREND_DAYS days: calls (bars) and error rate (line)."""

    change_list_template = "graphfns/admin/dailycallstats_change_list.html"
    list_display = ("day", "function", "calls", "errors", "error_rate", "error_codes", "p50", "p95",
                    "graph_requests", "sealed")
    list_filter = (FunctionFilter, ("day", admin.DateFieldListFilter))
    show_facets = admin.ShowFacets.NEVER
    TREND_DAYS = 30

    @admin.display(description="Error rate")
    def error_rate(self, obj: DailyCallStats) -> str:
        return f"{obj.error_rate:.1%}"

    @admin.display(description="Errors by code")
    def error_codes(self, obj: DailyCallStats) -> str:
        return ", ".join(f"{code}: {n}" for code, n in sorted(obj.errors_by_code.items(), key=lambda i: -i[1]))

    @admin.display(description="p50", ordering="p50_ms")
    def p50(self, obj: DailyCallStats) -> str:
        return f"{obj.p50_ms:.0f} ms"

    @admin.display(description="p95", ordering="p95_ms")
    def p95(self, obj: DailyCallStats) -> str:
        return f"{obj.p95_ms:.0f} ms"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # kept for GRAPH_CALL_STATS_RETENTION_DAYS, deleted by the scheduled task

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        charts = trend_charts(self.TREND_DAYS)
        chosen = request.GET.get("function")
        if chosen:
            charts = [c for c in charts[1:] if c.function == chosen]
        extra = {**(extra_context or {}), "trend_charts": charts, "trend_days": self.TREND_DAYS,
                 "stats_retention_days": stats_retention_days()}
        return super().changelist_view(request, extra)


# -- Members' Entra directory roles on the user page --------------------------------------------


# Offered in the "Assign a role" list; any other role can be typed by display name or template id.
COMMON_ROLES = (
    "Application Administrator", "Authentication Administrator", "Directory Readers", "Global Administrator",
    "Global Reader", "Groups Administrator", "Helpdesk Administrator", "Privileged Role Administrator",
    "Security Administrator", "Security Reader", "User Administrator",
)


@dataclass
class AccountRoles:
    """One Microsoft account of a member, with its directory roles (or why they could not be read)."""

    account: MicrosoftAccount
    roles: list[dict[str, Any]] = field(default_factory=list)
    error: str = ""
    note: str = ""

    @property
    def assignable(self) -> list[str]:
        held = {str(r.get("displayName") or "").lower() for r in self.roles}
        return [name for name in COMMON_ROLES if name.lower() not in held]


class MicrosoftRolesSection:
    """Read lazily, when the template shows it: a POST that redirects never calls Graph."""

    def __init__(self, user: Any, caller: str, can_change: bool) -> None:
        self.user = user
        self.caller = caller
        self.can_change = can_change

    @cached_property
    def accounts(self) -> list[AccountRoles]:
        app_tenant = MicrosoftSettings.current().app_tenant_id.lower()
        out = []
        for account in MicrosoftAccount.objects.filter(user=self.user).order_by("username"):
            entry = AccountRoles(account)
            out.append(entry)
            if account.tenant_id.lower() != app_tenant:
                entry.note = ("This account belongs to another tenant; the application manages directory roles "
                              "in its App tenant only.")
                continue
            try:
                result = graphfns.execute("users.directory_roles", {"user_id": account.object_id},
                                          caller=self.caller)
            except FunctionError as exc:
                entry.error = _describe(exc)
            else:
                entry.roles = sorted(result.get("value", []), key=lambda r: str(r.get("displayName") or ""))
        return out


class MemberGraphAdminMixin(admin.ModelAdmin):  # type: ignore[type-arg]
    """For the site's own user admin: the member's Microsoft accounts and their Entra directory roles,
    which an administrator can assign and remove. Put it before the site's user admin class::

        class MemberAdmin(MemberGraphAdminMixin, UserAdmin):
            inlines = [MicrosoftAccountInline]  # membership.admin: the accounts, read-only

    (the reference site's is project/admin.py). Its change form template extends the admin's
    ``change_form.html``.
    """

    change_form_template = "graphfns/admin/user_change_form.html"

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}"
        view = self.admin_site.admin_view
        return [
            path("<path:object_id>/microsoft-roles/assign/", view(self.assign_role_view),
                 name=f"{name}_assign_directory_role"),
            path("<path:object_id>/microsoft-roles/remove/", view(self.remove_role_view),
                 name=f"{name}_remove_directory_role"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        user = self.get_object(request, object_id)
        extra = dict(extra_context or {})
        # Not on a POST: the admin renders a rejected form inside its transaction, and no
        # transaction is held open across a call to Microsoft.
        if user is not None and request.method == "GET":
            extra["microsoft_roles"] = MicrosoftRolesSection(
                user, _caller(request), can_change=self.has_change_permission(request, user))
        return super().change_view(request, object_id, form_url, extra)

    def _role_change(self, request: HttpRequest, object_id: str,
                     run: Callable[[MicrosoftAccount], str]) -> HttpResponse:
        """Check the request, run ``run(account)`` (it returns the success message), and go back to the user."""
        if refused := _post_only(request):
            return refused
        user = self.get_object(request, object_id)
        if user is None or not self.has_change_permission(request, user):
            raise PermissionDenied
        chosen = request.POST.get("account", "")
        account = MicrosoftAccount.objects.filter(user=user, pk=int(chosen)).first() if chosen.isdigit() else None
        if account is None:
            messages.error(request, "Choose one of the member's Microsoft accounts.")
        else:
            try:
                messages.success(request, run(account))
            except FunctionError as exc:
                messages.error(request, _describe(exc))
        return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change",
                                            args=[user.pk]) + "#microsoft-roles")

    def assign_role_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        role = (request.POST.get("other_role") or request.POST.get("role") or "").strip()

        def assign(account: MicrosoftAccount) -> str:
            if not role:
                raise FunctionError("ValidationError", "Choose a directory role to assign.", field="role")
            graphfns.execute("users.assign_directory_role", {"user_id": account.object_id, "role": role},
                             caller=_caller(request))
            return f"Assigned {role} to {account.username}."

        return self._role_change(request, object_id, assign)

    def remove_role_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        role = request.POST.get("role", "").strip()  # template id: scoped to this member, unlike an assignment id
        name = request.POST.get("role_name", "").strip() or role

        def remove(account: MicrosoftAccount) -> str:
            if not role:
                raise FunctionError("ValidationError", "Choose a directory role to remove.", field="role")
            graphfns.execute("users.remove_directory_role", {"user_id": account.object_id, "role": role},
                             caller=_caller(request))
            return f"Removed {name} from {account.username}."

        return self._role_change(request, object_id, remove)


def _caller(request: HttpRequest) -> str:
    return f"admin:{request.user.get_username()}"

