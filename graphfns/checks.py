"""System checks: what graphfns needs from the site that cannot default (registered in ready())."""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register

# Caches each process keeps to itself: a task's owner written by the web process is not seen by the
# worker or another web process, and each process fetches its own application token.
PER_PROCESS_CACHES = (
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
)


@register()
def membership_installed(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if apps.is_installed("membership"):
        return []
    return [Error("graphfns needs membership (members' Microsoft accounts and the Microsoft settings).",
                  hint="Add \"membership\" to INSTALLED_APPS before \"graphfns\".", id="graphfns.E001")]


@register()
def shared_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    if backend not in PER_PROCESS_CACHES:
        return []
    return [Warning(f"The default cache ({backend.rsplit('.', 1)[-1]}) is per process: background calls "
                    "cannot be looked up from another process (GET …/tasks/<id> answers TaskNotFound) and each "
                    "process asks Microsoft for its own application token.",
                    hint="Use a cache all the site's processes share: Redis, Memcached, the database or the file "
                    "cache (django.core.cache.backends.filebased.FileBasedCache on one machine).",
                    id="graphfns.W001")]
