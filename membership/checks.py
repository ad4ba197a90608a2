"""System checks: what membership needs from the site that cannot default (registered in ready()).

Each message says what to set; ``manage.py check`` (and runserver, migrate) report them at start-up.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from cryptography.fernet import Fernet
from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.module_loading import import_string

from membership.conf import conf

MAKE_A_KEY = (
    "Make one with: python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())' "
    "and set FIELD_ENCRYPTION_KEY to it (keep it secret, and keep it: stored secrets need it to decrypt)."
)


@register()
def encryption_key(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    keys = conf.FIELD_ENCRYPTION_KEY
    if not keys:
        return [Error("FIELD_ENCRYPTION_KEY is not set.", hint=MAKE_A_KEY, id="membership.E001")]
    errors: list[CheckMessage] = []
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            errors.append(Error(
                f"FIELD_ENCRYPTION_KEY key #{position} is not a valid Fernet key (32 url-safe base64-encoded bytes).",
                hint=MAKE_A_KEY, id="membership.E002"))
    return errors


@register()
def celery_beat_installed(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    # The migrations schedule the refresh sweep (and graphfns' call-log upkeep) as beat's periodic tasks.
    if apps.is_installed("django_celery_beat"):
        return []
    return [Error("django_celery_beat is not in INSTALLED_APPS; membership's migrations schedule the refresh "
                  "sweep with it.", hint="Add \"django_celery_beat\" to INSTALLED_APPS (before membership) and "
                  "run Celery beat with its DatabaseScheduler.", id="membership.E003")]


@register()
def lock_folder(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    folder = conf.VAR_DIR
    if folder is None:
        if conf.REDIS_URL:
            return [Warning("VAR_DIR is not set: when Redis cannot be reached, token refreshes cannot fall back "
                            "to file locks and fail.", hint="Set VAR_DIR to a folder only the site's processes "
                            "can write.", id="membership.W001")]
        return [Error("VAR_DIR is not set, and without REDIS_URL token refreshes are serialised with file locks "
                      "in VAR_DIR/locks.", hint="Set VAR_DIR to a folder only the site's processes can write, or "
                      "REDIS_URL to use Redis locks.", id="membership.E004")]
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent  # the locks folder is made on first use
    if not (existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)):
        return [Error(f"VAR_DIR ({folder}) is not a folder this process can write.",
                      hint="Create it, owned by the user the site runs as (mode 0700).", id="membership.E005")]
    return []


@register()
def site_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    parts = urlsplit(conf.SITE_URL)
    if parts.scheme in ("http", "https") and parts.netloc:
        return []
    return [Error("SITE_URL is not an absolute URL; the reconnect e-mail links to the site with it.",
                  hint="Set SITE_URL to the site's address, e.g. \"https://members.example.org\".",
                  id="membership.E006")]


@register()
def login_url(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """LOGIN_URL must lead somewhere: members who are not signed in are sent there."""
    target = str(settings.LOGIN_URL)
    if "/" not in target and "." not in target:  # a URL name
        try:
            reverse(target)
        except NoReverseMatch:
            return [_login_url_error(f"LOGIN_URL names the URL {target!r}, which does not reverse.")]
        return []
    parts = urlsplit(target)
    if parts.netloc:
        return []  # another site's sign-in page
    try:
        resolve(parts.path)
    except Resolver404:
        return [_login_url_error(f"LOGIN_URL ({target}) is no page of this site.")]
    return []


def _login_url_error(message: str) -> Error:
    return Error(message, hint="Set LOGIN_URL to your sign-in page, e.g. \"membership_site:signin\" (include "
                 "membership.site_urls) or \"membership:login\" (straight to Microsoft).", id="membership.E007")


@register()
def adapter(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from membership.adapter import MemberAdapter

    try:
        chosen = import_string(conf.MEMBERSHIP_ADAPTER)
    except ImportError as exc:
        return [Error(f"MEMBERSHIP_ADAPTER ({conf.MEMBERSHIP_ADAPTER}) cannot be imported: {exc}.",
                      hint="Give the dotted path of a MemberAdapter subclass.", id="membership.E008")]
    if not (isinstance(chosen, type) and issubclass(chosen, MemberAdapter)):
        return [Error(f"MEMBERSHIP_ADAPTER ({conf.MEMBERSHIP_ADAPTER}) is not a MemberAdapter subclass.",
                      hint="Subclass membership.adapter.MemberAdapter.", id="membership.E008")]
    return []


@register()
def task_messages_encrypted(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    """Task arguments and results hold members' data and rest on the broker and the result backend:
    the site's Celery app should send them with the fernet-json serializer (membership.lib.task_messages)."""
    from celery import current_app

    from membership.lib.task_messages import SERIALIZER

    celery = current_app.conf
    plain = [name for name, value in (("task_serializer", celery.task_serializer),
                                      ("result_serializer", celery.result_serializer)) if value != SERIALIZER]
    if not plain:
        return []
    return [Warning(f"Celery's {' and '.join(plain)} of the site's Celery app ({current_app.main or 'default'}) "
                    "is not fernet-json: task arguments and results (members' profiles, Graph answers) rest "
                    "unencrypted on the broker and in the result backend.",
                    hint=f"In the settings the Celery app reads: CELERY_TASK_SERIALIZER = CELERY_RESULT_SERIALIZER = "
                    f"\"{SERIALIZER}\" and CELERY_ACCEPT_CONTENT = [\"{SERIALIZER}\"] (docs/install.md).",
                    id="membership.W002")]
