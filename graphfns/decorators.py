"""Guard site views that call Graph as the member: signed in, connected, and holding the scopes.

    @requires_scopes("Calendars.Read")
    def my_calendar(request): ...

    class MyCalendar(RequiresScopesMixin, TemplateView):
        required_scopes = ("Calendars.Read",)

Anonymous visitors go to the login page; members without a connected Microsoft account go to
"Sign in with Microsoft"; members who have not granted a scope go to incremental consent, and
come back to the page they asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from membership.models import MicrosoftAccount
from membership.scopes import missing_scopes

View = Callable[..., HttpResponse]


def scope_redirect(request: HttpRequest, scopes: Sequence[str]) -> HttpResponse | None:
    """Where to send this request before it may use ``scopes``; None when it may go ahead."""
    here = request.get_full_path()
    if not request.user.is_authenticated:
        return redirect_to_login(here)
    account = MicrosoftAccount.objects.of_member(request.user)
    if account is None:
        return HttpResponseRedirect(reverse("membership:login") + "?" + urlencode({"next": here}))
    missing = missing_scopes(account.granted_scopes, list(scopes))
    if missing:
        query = urlencode({"scopes": " ".join(missing), "next": here})
        return HttpResponseRedirect(reverse("membership:consent") + "?" + query)
    return None


def requires_scopes(*scopes: str) -> Callable[[View], View]:
    """Let the view run only for a connected member who has granted every one of ``scopes``."""

    def decorator(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return scope_redirect(request, scopes) or view(request, *args, **kwargs)

        return guarded

    return decorator


class RequiresScopesMixin:
    """The class-based form of ``requires_scopes``: set ``required_scopes``."""

    required_scopes: Sequence[str] = ()

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return scope_redirect(request, self.required_scopes) or super().dispatch(  # type: ignore[misc]
            request, *args, **kwargs)
