"""A scripted member: a requests session that follows redirects and submits the emulator's forms.

Used by the end-to-end sign-in tests (a real HTTP client against Django's live server and the
emulator over TLS). The one real-browser test lives in tests/e2e/. Forms are read with the same
parser the emulator's own tests use.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urljoin

import requests

from tests.emulator.browser import Form, forms


class MemberBrowser:
    def __init__(self, ca_file: str) -> None:
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = ca_file
        self.page: requests.Response | None = None

    def get(self, url: str, **kwargs: Any) -> requests.Response:
        self.page = self.http.get(url, **kwargs)
        return self.page

    def post(self, url: str, data: dict[str, str], **kwargs: Any) -> requests.Response:
        self.page = self.http.post(url, data=data, **kwargs)
        return self.page

    def forms(self) -> list[Form]:
        assert self.page is not None
        return forms(self.page.text)

    def press(self, name: str, value: str | None = None, **kwargs: Any) -> requests.Response:
        """Submit the form holding the button ``name`` (with ``value``, if several)."""
        assert self.page is not None
        for form in self.forms():
            for button in form.buttons:
                if button.name == name and (value is None or button.value == value):
                    data = {**form.fields, name: button.value or ""}
                    return self.post(urljoin(self.page.url, form.action), data, **kwargs)
        raise AssertionError(f"no button {name}={value} on {self.page.url}:\n{self.page.text[:2000]}")

    def pick_user(self, user_id: str, **kwargs: Any) -> requests.Response:
        """On the emulator's sign-in page, choose the seeded user with this object id."""
        assert self.page is not None
        for form in self.forms():
            for button in form.buttons:
                if button.name == "user" and (button.value or "").endswith(":" + user_id):
                    return self.press("user", button.value, **kwargs)
        raise AssertionError(f"user {user_id} not offered on {self.page.url}")

    def accept(self) -> requests.Response:
        return self.press("decision", "accept")

    def decline(self) -> requests.Response:
        return self.press("decision", "decline")
