"""Who is calling the HTTP API, and what they may do.

Two ways in:

* ``Authorization: Bearer <key>`` — an API key made in the admin. A key is a trusted service: it may
  act for any member (``auth_user_id``) or as the application, within its limits: only the
  functions in ``allowed_functions`` and, with ``delegated_only``, no application calls. CSRF does
  not apply (the browser never sends the header by itself).
* The Django session — a signed-in member, CSRF-checked on POST. Members act only as themselves:
  ``auth_user_id`` left out means "me", and any other id (or ``null``, the application) is
  refused. Superusers may act for anyone and as the application.

A wrong or revoked key, or neither, is ``AuthenticationRequired`` (401); a call outside the
caller's rights is ``PermissionDenied`` (403).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import CsrfViewMiddleware

from graphfns.errors import FunctionError
from graphfns.models import ApiKey

SELF = object()  # auth_user_id left out of the request body
MAX_ID = 2**63 - 1  # the largest id a database can hold; beyond it no user can exist


@dataclass(frozen=True)
class Caller:
    api_key: ApiKey | None = None
    user: Any = None  # the session's user (AbstractBaseUser) when there is no key

    @property
    def label(self) -> str:
        """How the call log names this caller."""
        if self.api_key is not None:
            return f"api-key:{self.api_key.name}"
        return f"user:{self.user.get_username()}"

    @property
    def owner(self) -> str:
        """Who owns the tasks this caller queues: the key or user by primary key. Key names repeat, and a
        key made to replace a revoked one often takes its name; neither may read the other's results."""
        if self.api_key is not None:
            return f"api-key:{self.api_key.pk}"
        return f"user:{self.user.pk}"

    @property
    def is_superuser(self) -> bool:
        return self.user is not None and bool(getattr(self.user, "is_superuser", False))

    @property
    def may_manage(self) -> bool:
        """May clear caches and see every task: a full API key, or a staff session."""
        if self.api_key is not None:
            return not self.api_key.delegated_only
        return bool(getattr(self.user, "is_staff", False))

    def acting_user(self, function_name: str, auth_user_id: object = SELF) -> int | AbstractBaseUser | None:
        """Whom the call runs as (a user or user id; None = the application), or PermissionDenied."""
        if self.api_key is not None:
            if not self.api_key.allows(function_name):
                raise FunctionError("PermissionDenied", f"This API key may not run {function_name}; its allowed "
                                    "functions are set in the admin.")
            if auth_user_id is SELF or auth_user_id is None:
                if self.api_key.delegated_only:
                    raise FunctionError("PermissionDenied", "This API key makes delegated calls only: give "
                                        "auth_user_id, the member to act for.")
                return None
            return _user_id(auth_user_id)
        if auth_user_id is SELF:
            return self.user
        if auth_user_id is None:
            if not self.is_superuser:
                raise FunctionError("PermissionDenied", "Only superusers may call as the application; leave out "
                                    "auth_user_id to act as yourself.")
            return None
        user_id = _user_id(auth_user_id)
        if user_id != self.user.pk and not self.is_superuser:
            raise FunctionError("PermissionDenied", "Members act only as themselves: leave out auth_user_id or "
                                "give your own id.")
        return self.user if user_id == self.user.pk else user_id


def _user_id(value: object) -> int:
    # bool is an int in Python; true/false are not user ids.
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).strip().isdigit() \
            or not 0 < int(value) <= MAX_ID:
        raise FunctionError("ValidationError", "auth_user_id must be a platform user id (an integer) or null.",
                            field="auth_user_id")
    return int(value)


def authenticate(request: HttpRequest, *, csrf: bool = False) -> Caller:
    """The caller of this request; with ``csrf`` a session caller must pass Django's CSRF check."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, raw = header.partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or not raw:
            raise FunctionError("AuthenticationRequired", "Send the API key as 'Authorization: Bearer <key>'.")
        key = ApiKey.authenticate(raw)
        if key is None:
            raise FunctionError("AuthenticationRequired", "The API key is not valid or has been revoked.")
        return Caller(api_key=key)
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        raise FunctionError("AuthenticationRequired")
    if csrf:
        _check_csrf(request)
    return Caller(user=user)


def _check_csrf(request: HttpRequest) -> None:
    def no_view(request: HttpRequest) -> HttpResponse:
        raise AssertionError("not called")

    rejected = CsrfViewMiddleware(no_view).process_view(request, no_view, (), {})
    if rejected is not None:
        raise FunctionError("PermissionDenied", "CSRF check failed: send the csrftoken cookie's value in the "
                            "X-CSRFToken header, or use an API key.")
