"""membership's system checks: what a site must set, reported at start-up with what to do."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.checks import run_checks
from django.test import override_settings

from membership import checks
from membership.apps import quieten_library_logging


def ids(messages: list) -> list[str]:  # type: ignore[type-arg]
    return [m.id for m in messages]


def test_the_reference_site_passes_every_check() -> None:
    assert run_checks() == []


@override_settings(FIELD_ENCRYPTION_KEY=[])
def test_a_missing_encryption_key_is_an_error_saying_how_to_make_one() -> None:
    [error] = checks.encryption_key()
    assert error.id == "membership.E001" and "FIELD_ENCRYPTION_KEY is not set" in error.msg
    assert "Fernet.generate_key()" in error.hint
    assert "membership.E001" in ids(run_checks())


def test_a_malformed_key_is_named_by_its_position_in_a_list_or_a_comma_separated_string() -> None:
    good = Fernet.generate_key().decode()
    with override_settings(FIELD_ENCRYPTION_KEY=f"{good}, not-a-key"):
        [error] = checks.encryption_key()
    assert error.id == "membership.E002" and "key #2 is not a valid Fernet key" in error.msg
    with override_settings(FIELD_ENCRYPTION_KEY=good):
        assert checks.encryption_key() == []


def test_celery_beat_must_be_installed_since_the_migrations_schedule_with_it(settings: object) -> None:
    from django.conf import settings as django_settings

    apps = [a for a in django_settings.INSTALLED_APPS if a != "django_celery_beat"]
    with override_settings(INSTALLED_APPS=apps):
        [error] = checks.celery_beat_installed()
    assert error.id == "membership.E003" and "INSTALLED_APPS" in error.hint
    assert checks.celery_beat_installed() == []


@override_settings(VAR_DIR=None, REDIS_URL="")
def test_file_locks_need_var_dir_without_redis() -> None:
    [error] = checks.lock_folder()
    assert error.id == "membership.E004" and "REDIS_URL" in error.hint


@override_settings(VAR_DIR=None, REDIS_URL="redis://127.0.0.1:6379/13")
def test_with_redis_a_missing_var_dir_is_only_a_warning_about_the_fallback() -> None:
    [warning] = checks.lock_folder()
    assert warning.id == "membership.W001"


def test_var_dir_must_be_a_folder_this_process_can_write(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_text("")  # (a read-only folder would not do: the tests may run as root)
    with override_settings(VAR_DIR=a_file / "var", REDIS_URL=""):
        [error] = checks.lock_folder()
    assert error.id == "membership.E005" and str(a_file) in error.msg
    with override_settings(VAR_DIR=tmp_path / "not-yet-made", REDIS_URL=""):
        assert checks.lock_folder() == []  # made on first use


@pytest.mark.parametrize("value", ["", "members.example.org", "/relative/"])
def test_site_url_must_be_absolute(value: str) -> None:
    with override_settings(SITE_URL=value):
        [error] = checks.site_url()
    assert error.id == "membership.E006"


@pytest.mark.parametrize("value", ["/nowhere/at/all/", "no-such-url-name", "membership:no_such_view"])
def test_login_url_must_lead_to_a_page_of_the_site(value: str) -> None:
    with override_settings(LOGIN_URL=value):
        [error] = checks.login_url()
    assert error.id == "membership.E007"


@pytest.mark.parametrize("value", ["/signin/", "membership:login", "membership_site:signin",
                                   "https://sso.example.org/login"])
def test_a_path_a_url_name_or_another_site_is_a_good_login_url(value: str) -> None:
    with override_settings(LOGIN_URL=value):
        assert checks.login_url() == []


@pytest.mark.parametrize("value", ["membership.adapter.NoSuchAdapter", "membership.conf.Setting"])
def test_the_adapter_must_be_a_member_adapter(value: str) -> None:
    with override_settings(MEMBERSHIP_ADAPTER=value):
        [error] = checks.adapter()
    assert error.id == "membership.E008"


def test_msal_and_urllib3_stay_quiet_even_when_the_site_logs_at_debug() -> None:
    loggers = [logging.getLogger("msal"), logging.getLogger("urllib3")]
    before = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.NOTSET)  # as a site that only sets the root logger's level
        loggers[1].setLevel(logging.DEBUG)
        quieten_library_logging()
        assert [logger.getEffectiveLevel() for logger in loggers] == [logging.WARNING, logging.WARNING]
        loggers[0].setLevel(logging.ERROR)  # a site's own, quieter choice is kept
        quieten_library_logging()
        assert loggers[0].level == logging.ERROR
    finally:
        for logger, level in zip(loggers, before, strict=True):
            logger.setLevel(level)


def test_plain_json_task_messages_are_a_warning_naming_the_serializer_to_use() -> None:
    from celery import current_app

    celery = current_app.conf
    before = celery.task_serializer, celery.result_serializer
    assert checks.task_messages_encrypted() == []  # the reference site encrypts them
    celery.task_serializer = "json"
    try:
        [warning] = checks.task_messages_encrypted()
    finally:
        celery.task_serializer, celery.result_serializer = before
    assert warning.id == "membership.W002"
    assert "task_serializer" in warning.msg and "result_serializer" not in warning.msg
    assert 'CELERY_TASK_SERIALIZER = CELERY_RESULT_SERIALIZER = "fernet-json"' in warning.hint
