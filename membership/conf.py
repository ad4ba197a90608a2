"""The Django settings membership reads, each with its default, in one place (``conf.NAME``).

A site sets what it needs in its own settings module; everything else defaults here. What cannot
default is reported by the system checks (membership/checks.py). docs/configuration.md's table of
settings is generated from these declarations (``manage.py graph catalog --write``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar, overload

from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import NoReverseMatch, reverse

T = TypeVar("T")


@dataclass(frozen=True)
class Setting(Generic[T]):
    """One setting: read as ``getattr(settings, name, default)`` every time, so tests and sites may
    change it at run time (``override_settings``)."""

    name: str
    default: T
    meaning: str
    convert: Callable[[Any], T] | None = None
    shown_default: str = ""  # how docs/configuration.md shows the default, when repr() would mislead

    @overload
    def __get__(self, obj: None, owner: type) -> Setting[T]: ...
    @overload
    def __get__(self, obj: object, owner: type) -> T: ...

    def __get__(self, obj: object | None, owner: type) -> Setting[T] | T:
        if obj is None:
            return self
        value = getattr(settings, self.name, self.default)
        return self.convert(value) if self.convert is not None and value is not None else value

    def documented_default(self) -> str:
        if self.shown_default:
            return self.shown_default
        if self.default is None or self.default == "":
            return "unset"
        if self.default in ([], ()):
            return "none"
        return f"`{self.default}`" if isinstance(self.default, str) else f"`{self.default!r}`"


def declared(conf: object) -> list[Setting[Any]]:
    """The settings an app's conf object declares, in declaration order."""
    return [value for value in vars(type(conf)).values() if isinstance(value, Setting)]


def _hosts(value: Any) -> list[str]:
    return [h.strip().lower() for h in value if h.strip()]


def _keys(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    return tuple(k.strip() for k in items if k and k.strip())


def _folder(value: Any) -> Path | None:
    return Path(value) if value else None


class MembershipSettings:
    FIELD_ENCRYPTION_KEY: Setting[tuple[str, ...]] = Setting(
        "FIELD_ENCRYPTION_KEY", (), "**Required.** The Fernet key that encrypts stored secrets and tokens; "
        "several (a list, or comma-separated) to rotate: the first encrypts, all decrypt.", _keys, "unset")
    MICROSOFT_CONNECT_TIMEOUT: Setting[float] = Setting(
        "MICROSOFT_CONNECT_TIMEOUT", 5.0, "Seconds any call to Microsoft (MSAL's included) waits to connect.", float)
    MICROSOFT_READ_TIMEOUT: Setting[float] = Setting(
        "MICROSOFT_READ_TIMEOUT", 30.0, "Seconds any call to Microsoft waits for an answer once connected.", float)
    MICROSOFT_CA_BUNDLE: Setting[str | None] = Setting(
        "MICROSOFT_CA_BUNDLE", None, "Only for a local emulator: the CA file to trust for Microsoft endpoints "
        "(instead of the system's and REQUESTS_CA_BUNDLE).", lambda v: str(v) or None)
    MICROSOFT_ALLOWED_HOSTS: Setting[list[str]] = Setting(
        "MICROSOFT_ALLOWED_HOSTS", [], "Only for a local emulator: hosts besides Microsoft's clouds that the "
        "authority host and Graph URL may name (they receive the client secret and members' tokens).", _hosts)
    MICROSOFT_REFRESH_AFTER_DAYS: Setting[int] = Setting(
        "MICROSOFT_REFRESH_AFTER_DAYS", 7, "The refresh sweep renews refresh tokens not renewed for this many days "
        "(Entra expires unused ones after 90).", int)
    MICROSOFT_REFRESH_BATCH_SIZE: Setting[int] = Setting(
        "MICROSOFT_REFRESH_BATCH_SIZE", 100, "Accounts per refresh-sweep task.", int)
    REDIS_URL: Setting[str] = Setting(
        "REDIS_URL", "", "Redis for the locks around token refreshes (and the shared app token); unset: file "
        "locks under `VAR_DIR` (one machine).", str)
    VAR_DIR: Setting[Path | None] = Setting(
        "VAR_DIR", None, "A folder only the site's processes can write: file locks live in `VAR_DIR/locks`. "
        "Required without `REDIS_URL` (and used when Redis is down).", _folder)
    SITE_URL: Setting[str] = Setting(
        "SITE_URL", "", "**Required.** The site's absolute base URL (`https://members.example.org`), for links "
        "made without a request (the reconnect e-mail).", str)
    MEMBERSHIP_ACCOUNT_URL: Setting[str] = Setting(
        "MEMBERSHIP_ACCOUNT_URL", "", "Where members manage their Microsoft account (a URL or URL name): where "
        "sign-in lands without `next`, and where reconnect links point. Unset: the account page of "
        "`membership.site_urls` when it is included, else `LOGIN_REDIRECT_URL`.", str)
    MEMBERSHIP_ADAPTER: Setting[str] = Setting(
        "MEMBERSHIP_ADAPTER", "membership.adapter.MemberAdapter", "Dotted path to the class that creates, names "
        "and links members (membership/adapter.py); subclass `MemberAdapter` to change it.", str)
    ACCOUNT_PAGE_PANELS: Setting[list[str]] = Setting(
        "ACCOUNT_PAGE_PANELS", [], "Sections other apps add to the account page: dotted paths to "
        "`(request) -> HTML` (e.g. `graphfns.panels.next_events`).", list)

    def account_url(self) -> str:
        """The path of the members' account page (``MEMBERSHIP_ACCOUNT_URL``): works whether or not the
        site includes ``membership.site_urls``."""
        if self.MEMBERSHIP_ACCOUNT_URL:
            return resolve_url(self.MEMBERSHIP_ACCOUNT_URL)
        try:
            return reverse("membership_site:account")
        except NoReverseMatch:
            return resolve_url(settings.LOGIN_REDIRECT_URL)

    def home_url(self) -> str:
        """Where members land after signing out: the home page of ``membership.site_urls`` when it is
        included, else the site's root."""
        try:
            return reverse("membership_site:home")
        except NoReverseMatch:
            return "/"

    def absolute_url(self, path: str) -> str:
        """``path`` on ``SITE_URL``, for links sent without a request (e-mail)."""
        return self.SITE_URL.rstrip("/") + path


conf = MembershipSettings()
