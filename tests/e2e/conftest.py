"""A real browser: Debian's headless Chromium driven by Playwright (no downloaded browser)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from typing import Any

import pytest

from emulator.browser import CHROMIUM, chromium_page


@pytest.fixture
def browser_page(emulator: Any, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if shutil.which(CHROMIUM) is None:
        pytest.fail(f"No Chromium at {CHROMIUM}: `make test` installs Debian's (scripts/install-test-tools).")
    # Playwright's sync API runs an event loop in this thread; the ORM calls the test makes
    # afterwards are plain synchronous calls, so Django's async guard is lifted for this test
    # (monkeypatch restores it afterwards, also when the browser fails to start).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with chromium_page(emulator.base_url) as page:
        yield page
