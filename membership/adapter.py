"""How a Microsoft identity becomes a member of the site: the one place a site changes it.

``get_adapter()`` returns the class named by MEMBERSHIP_ADAPTER (default ``MemberAdapter``). A site
with its own rules subclasses ``MemberAdapter`` and overrides a method: how a new member is named
(``username_for``), which fields are filled from Microsoft (``populate_user``), whether a first
sign-in may join an existing member (``existing_user``), which group a new member gets
(``give_role``). Only the fields the site's user model has are set, and the member is created
through its ``USERNAME_FIELD``, so an e-mail-only custom user model works as well as auth.User.
"""

from __future__ import annotations

import re
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.core.validators import validate_email
from django.db import models
from django.utils.module_loading import import_string

from membership.conf import conf
from membership.failures import SignInFailure


def get_adapter() -> MemberAdapter:
    adapter: MemberAdapter = import_string(conf.MEMBERSHIP_ADAPTER)()
    return adapter


def microsoft_email(claims: dict[str, Any]) -> str:
    """The member's address: the `email` claim, else `preferred_username` when it is an address."""
    for claim in ("email", "preferred_username"):
        value = str(claims.get(claim) or "").strip()
        try:
            validate_email(value)
        except ValidationError:
            continue
        return value
    return ""


def split_name(claims: dict[str, Any]) -> tuple[str, str]:
    given, family = claims.get("given_name", ""), claims.get("family_name", "")
    if not (given or family) and claims.get("name"):
        given, _, family = str(claims["name"]).partition(" ")
    return str(given), str(family)


class MemberAdapter:
    """The default rules: members are never matched by e-mail; a new member is named after their
    Microsoft sign-in name (or e-mail, for a user model named by e-mail) and gets Microsoft's names
    and address; later sign-ins keep the member's e-mail in step with Microsoft's unless the member
    chose another one here."""

    def __init__(self, user_model: type[AbstractBaseUser] | None = None) -> None:
        self.user_model: type[AbstractBaseUser] = user_model or get_user_model()
        self.username_field: str = self.user_model.USERNAME_FIELD  # type: ignore[attr-defined]

    # Which fields the model has -------------------------------------------------------------------

    def field(self, name: str) -> models.Field[Any, Any] | None:
        """The user model's concrete field ``name``, or None when it has none."""
        try:
            found = self.user_model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        return found if isinstance(found, models.Field) and found.concrete else None

    def email_field(self) -> str | None:
        name = self.user_model.get_email_field_name()
        return name if self.field(name) is not None else None

    def named_by_email(self) -> bool:
        return self.email_field() == self.username_field

    def _fit(self, name: str, value: str) -> str:
        limit = getattr(self.field(name), "max_length", None)
        return value[:limit] if limit else value

    # The rules a site may override ------------------------------------------------------------------

    def existing_user(self, claims: dict[str, Any]) -> AbstractBaseUser | None:
        """A member a first Microsoft sign-in joins instead of creating one; None: create one.
        The default never matches by e-mail (anyone can put any address in a tenant they run)."""
        return None

    def username_for(self, claims: dict[str, Any]) -> str:
        """The new member's USERNAME_FIELD value, unused by any other member."""
        if self.named_by_email():
            address = microsoft_email(claims)
            if not address:
                raise SignInFailure("email_missing", "the user model is named by e-mail; no address in the claims")
            if self._taken(address):
                raise SignInFailure("member_exists", "another member has this address")
            return address
        wanted = str(claims.get("preferred_username") or claims.get("upn") or claims["oid"])
        base = self._fit(self.username_field, re.sub(r"[^\w.@+-]", "", wanted)[:140] or "member")
        name, n = base, 1
        while self._taken(name):
            n += 1
            name = f"{base}-{n}"
        return name

    def populate_user(self, user: AbstractBaseUser, claims: dict[str, Any], *,
                      previous_email: str | None = None) -> list[str]:
        """Fill ``user`` from Microsoft's claims; the names of the fields changed (for ``save``).

        A new member (``previous_email`` None) gets Microsoft's names and address, in the fields
        the model has. On later sign-ins only the address follows Microsoft's, and only while the
        member's is empty or still the one Microsoft gave last time (``previous_email``).
        """
        changed = []
        if previous_email is None:
            given, family = split_name(claims)
            for name, value in (("first_name", given), ("last_name", family)):
                if value and self.field(name) is not None:
                    setattr(user, name, self._fit(name, value))
                    changed.append(name)
        email = self.email_field()
        address = microsoft_email(claims)
        if email is None or not address or (email == self.username_field and user.pk is None):
            return changed  # (a new member named by e-mail already has it, from username_for)
        current = str(getattr(user, email, "") or "")
        if current == address:
            return changed
        follows = not current or (previous_email is not None and current.lower() == previous_email.lower())
        if follows and not (email == self.username_field and self._taken(address)):
            setattr(user, email, address)
            changed.append(email)
        return changed

    def give_role(self, user: AbstractBaseUser, role: Group | None) -> None:
        """Put a new member in the sign-in mode's (or the settings') group, when the model has groups."""
        if role is not None and hasattr(user, "groups"):
            user.groups.add(role)

    # Creating ----------------------------------------------------------------------------------------

    def new_user(self, claims: dict[str, Any]) -> AbstractBaseUser:
        """Create the member for a first Microsoft sign-in: no usable password (they sign in with
        Microsoft), named through USERNAME_FIELD, filled by ``populate_user``."""
        user = self.user_model(**{self.username_field: self.username_for(claims)})
        self.populate_user(user, claims)
        user.set_unusable_password()
        user.save()
        return user

    def _taken(self, value: str) -> bool:
        lookup = f"{self.username_field}__iexact"
        return self.user_model._default_manager.filter(**{lookup: value}).exists()
