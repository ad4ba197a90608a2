"""A scripted member: a requests session that follows redirects and submits the emulator's forms.

Used by the end-to-end sign-in tests (a real HTTP client against Django's live server and the
emulator over TLS). The one real-browser test lives in tests/e2e/.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urljoin

import requests


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                               "fields": {}, "buttons": []})
        elif self.forms and tag == "input" and a.get("type") == "hidden":
            self.forms[-1]["fields"][a.get("name", "")] = a.get("value", "")
        elif self.forms and tag == "button" and a.get("name"):
            self.forms[-1]["buttons"].append((a["name"], a.get("value", "")))


class MemberBrowser:
    def __init__(self, ca_file: str) -> None:
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = ca_file
        self.page: requests.Response | None = None

    def get(self, url: str, **kwargs) -> requests.Response:
        self.page = self.http.get(url, **kwargs)
        return self.page

    def post(self, url: str, data: dict, **kwargs) -> requests.Response:
        self.page = self.http.post(url, data=data, **kwargs)
        return self.page

    def forms(self) -> list[dict]:
        parser = _Forms()
        parser.feed(self.page.text)
        return parser.forms

    def press(self, name: str, value: str | None = None, **extra: str) -> requests.Response:
        """Submit the form holding the button ``name`` (with ``value``, if several)."""
        for form in self.forms():
            for bname, bvalue in form["buttons"]:
                if bname == name and (value is None or bvalue == value):
                    data = {**form["fields"], bname: bvalue, **extra}
                    return self.post(urljoin(self.page.url, form["action"]), data)
        raise AssertionError(f"no button {name}={value} on {self.page.url}:\n{self.page.text[:2000]}")

    def pick_user(self, user_id: str) -> requests.Response:
        """On the emulator's sign-in page, choose the seeded user with this object id."""
        for form in self.forms():
            for bname, bvalue in form["buttons"]:
                if bname == "user" and bvalue.endswith(":" + user_id):
                    return self.press("user", bvalue)
        raise AssertionError(f"user {user_id} not offered on {self.page.url}")

    def accept(self) -> requests.Response:
        return self.press("decision", "accept")

    def decline(self) -> requests.Response:
        return self.press("decision", "decline")

    def submit(self, index: int = 0) -> requests.Response:
        """Submit a form as its onload script would (form_post pages)."""
        form = self.forms()[index]
        return self.post(urljoin(self.page.url, form["action"]), form["fields"])
