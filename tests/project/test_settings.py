"""Start-up configuration: keys, production checks, migrations, Celery's broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]


def run(code_or_args: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    ours = {"FIELD_ENCRYPTION_KEY", "SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL", "ALLOWED_HOSTS"}
    base = {k: v for k, v in os.environ.items() if k not in ours and not k.startswith(("SECURE_", "SESSION_", "CSRF_"))}
    base.update({"READ_DOT_ENV": "false", "DJANGO_SETTINGS_MODULE": "project.settings"})
    base.update(env)
    return subprocess.run([sys.executable, *code_or_args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120)


def key() -> str:
    return Fernet.generate_key().decode()


def test_a_missing_encryption_key_stops_start_up_with_how_to_make_one() -> None:
    result = run(["manage.py", "check"], DEBUG="true")
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY is not set" in result.stderr
    assert "Fernet.generate_key()" in result.stderr


def test_a_malformed_encryption_key_names_the_bad_key() -> None:
    result = run(["manage.py", "check"], DEBUG="true", FIELD_ENCRYPTION_KEY=f"{key()},not-a-key")
    assert result.returncode != 0
    assert "key #2 is not a valid Fernet key" in result.stderr


def test_several_keys_are_accepted_first_one_encrypting() -> None:
    first, second = key(), key()
    result = run(
        ["-c", "import django; django.setup(); from django.conf import settings; print(settings.FIELD_ENCRYPTION_KEY)"],
        DEBUG="true", FIELD_ENCRYPTION_KEY=f" {first} , {second} ",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str([first, second])


def test_production_needs_a_secret_key() -> None:
    result = run(["manage.py", "check"], DEBUG="false", FIELD_ENCRYPTION_KEY=key())
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_secrets_can_come_from_files(tmp_path: Path) -> None:
    (tmp_path / "key").write_text(key() + "\n")
    result = run(["manage.py", "check"], DEBUG="true", FIELD_ENCRYPTION_KEY_FILE=str(tmp_path / "key"))
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = run(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        DEBUG="false",
        SECRET_KEY="k" + Fernet.generate_key().decode() + "-production-secret-value",
        FIELD_ENCRYPTION_KEY=key(),
        ALLOWED_HOSTS="members.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_flags_debug_mode() -> None:
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], DEBUG="true", FIELD_ENCRYPTION_KEY=key())
    assert result.returncode != 0


@pytest.mark.django_db
def test_migrations_match_the_models() -> None:
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.parametrize(
    ("redis_url", "broker", "result_backend"),
    [("", "filesystem://", "file://"), ("redis://127.0.0.1:6379/5", "redis://127.0.0.1:6379/5", "redis://127.0.0.1:6379/5")],
)
def test_celery_uses_redis_when_configured_and_the_filesystem_otherwise(
    redis_url: str, broker: str, result_backend: str, tmp_path: Path
) -> None:
    code = "from project.celery import app; print(app.conf.broker_url); print(app.conf.result_backend)"
    result = run(["-c", code], DEBUG="true", FIELD_ENCRYPTION_KEY=key(), REDIS_URL=redis_url, VAR_DIR=str(tmp_path))
    assert result.returncode == 0, result.stderr
    got_broker, got_backend = result.stdout.split()
    assert got_broker == broker
    assert got_backend.startswith(result_backend)


def test_var_dir_and_celery_folders_are_private(tmp_path: Path) -> None:
    fresh, loose = tmp_path / "fresh" / "var", tmp_path / "loose"
    (loose / "celery" / "queue").mkdir(parents=True, mode=0o755)
    loose.chmod(0o755)
    (loose / "celery").chmod(0o755)
    code = "import django; django.setup()"
    for var in (fresh, loose):
        result = run(["-c", code], DEBUG="true", FIELD_ENCRYPTION_KEY=key(), REDIS_URL="", VAR_DIR=str(var))
        assert result.returncode == 0, result.stderr
        folders = [var, var / "celery", *(var / "celery" / n for n in ("queue", "processed", "control", "results"))]
        assert {str(f): oct(f.stat().st_mode & 0o777) for f in folders} == {str(f): "0o700" for f in folders}


def test_results_expire_after_a_day_unless_configured(tmp_path: Path) -> None:
    code = "from project.celery import app; print(int(getattr(app.conf.result_expires, 'total_seconds', lambda: app.conf.result_expires)()))"
    default = run(["-c", code], DEBUG="true", FIELD_ENCRYPTION_KEY=key(), VAR_DIR=str(tmp_path))
    assert (default.returncode, default.stdout.strip()) == (0, "86400"), default.stderr
    configured = run(["-c", code], DEBUG="true", FIELD_ENCRYPTION_KEY=key(), VAR_DIR=str(tmp_path),
                     CELERY_RESULT_EXPIRES="3600")
    assert configured.stdout.strip() == "3600", configured.stderr


SHOW = ("import django; django.setup(); from django.conf import settings as s; from project.celery import app; "
        "print(s.DATABASES['default']['CONN_MAX_AGE'], s.DATABASES['default']['CONN_HEALTH_CHECKS'], "
        "app.conf.task_soft_time_limit, app.conf.task_time_limit, "
        "app.conf.broker_transport_options.get('visibility_timeout'))")


def test_production_keeps_database_connections_and_outlasts_microsoft_in_tasks() -> None:
    result = run(["-c", SHOW], DEBUG="true", FIELD_ENCRYPTION_KEY=key(), REDIS_URL="redis://127.0.0.1:6379/8",
                 DATABASE_URL="postgres://postgres@127.0.0.1:5432/membership_ops")
    assert result.returncode == 0, result.stderr
    max_age, health_checks, soft, hard, visibility = result.stdout.split()
    assert (max_age, health_checks) == ("60", "True")
    # Longer than one Graph call (deadline 45 s + connect 5 s + read 30 s); Redis waits out the longest task.
    assert 45 + 5 + 30 < int(soft) < int(hard) < int(visibility)


def test_a_task_time_limit_shorter_than_a_graph_call_stops_start_up() -> None:
    result = run(["manage.py", "check"], DEBUG="true", FIELD_ENCRYPTION_KEY=key(), CELERY_TASK_SOFT_TIME_LIMIT="30")
    assert result.returncode != 0
    assert "CELERY_TASK_SOFT_TIME_LIMIT (30s) is shorter than one Graph call" in result.stderr


def test_a_visibility_timeout_shorter_than_the_longest_task_stops_start_up() -> None:
    result = run(["manage.py", "check"], DEBUG="true", FIELD_ENCRYPTION_KEY=key(),
                 REDIS_URL="redis://127.0.0.1:6379/8", CELERY_VISIBILITY_TIMEOUT="600")
    assert result.returncode != 0
    assert "CELERY_VISIBILITY_TIMEOUT must be longer than the longest task" in result.stderr
