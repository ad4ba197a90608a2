"""graphfns' system checks."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings

from graphfns import checks


@pytest.mark.parametrize("backend", ["django.core.cache.backends.locmem.LocMemCache",
                                     "django.core.cache.backends.dummy.DummyCache"])
def test_a_per_process_cache_is_warned_about(backend: str) -> None:
    with override_settings(CACHES={"default": {"BACKEND": backend}}):
        [warning] = checks.shared_cache()
    assert warning.id == "graphfns.W001" and "TaskNotFound" in warning.msg


def test_a_shared_cache_passes() -> None:
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                               "LOCATION": "redis://127.0.0.1:6379/13"}}):
        assert checks.shared_cache() == []
    assert checks.shared_cache() == []  # the reference site's file cache


def test_graphfns_needs_membership() -> None:
    apps = [a for a in settings.INSTALLED_APPS if a != "membership"]
    with override_settings(INSTALLED_APPS=apps):
        [error] = checks.membership_installed()
    assert error.id == "graphfns.E001"
    assert checks.membership_installed() == []
