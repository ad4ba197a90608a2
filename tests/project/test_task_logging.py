"""Celery's task log lines (membership/lib/task_messages.py's TaskLogFilter): what happened, never the data."""

from __future__ import annotations

import logging

import pytest

from project.celery import app


@app.task(name="tests.crash_on_a_member")
def crash_on_a_member(email: str) -> None:
    raise LookupError(f"no member {email}")


@app.task(name="tests.profile_of")
def profile_of(email: str) -> dict[str, str]:
    return {"mail": email, "displayName": "Grace Hopper"}


def test_a_failed_task_logs_its_exception_type_and_frames_but_not_its_text(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="celery.app.trace"):
        result = crash_on_a_member.apply(args=("grace@contoso.test",))
    assert result.failed()
    assert "grace@contoso.test" not in caplog.text
    record = next(r for r in caplog.records if r.levelno == logging.ERROR)
    assert record.getMessage() == f"Task tests.crash_on_a_member[{result.id}] raised unexpected: builtins.LookupError"
    assert "in crash_on_a_member" in caplog.text  # the traceback's frames are kept
    assert "grace@contoso.test" not in repr(getattr(record, "data", ""))


def test_a_successful_task_logs_its_duration_but_not_its_result(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="celery.app.trace"):
        result = profile_of.apply(args=("grace@contoso.test",))
    assert result.get()["displayName"] == "Grace Hopper"
    assert "Grace Hopper" not in caplog.text and "grace@contoso.test" not in caplog.text
    assert f"Task tests.profile_of[{result.id}] succeeded in " in caplog.text
