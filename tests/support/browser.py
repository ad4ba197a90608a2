"""Scripted browsers over requests: parse the emulator's forms, press buttons, follow redirects.

No real browser: each page is plain HTML forms, so "pressing" a button means submitting its form
with the hidden fields and the button's own name/value, as a browser would. ``Browser`` walks the
emulator's sign-in pages and stops at the app (the emulator's own tests); ``MemberBrowser`` is a
member signing in to the site through Django's live server (the end-to-end sign-in tests). The one
real-browser test lives in tests/e2e/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

import requests

APP_REDIRECT = "http://localhost:8000/auth/microsoft/callback/"


@dataclass
class Button:
    text: str
    name: str | None
    value: str | None


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    checkboxes: dict[str, str] = field(default_factory=dict)
    buttons: list[Button] = field(default_factory=list)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._button: Button | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif tag == "input" and self.forms:
            kind = a.get("type", "text")
            if kind == "hidden":
                self.forms[-1].fields[a["name"]] = a.get("value", "")
            elif kind == "checkbox":
                self.forms[-1].checkboxes[a["name"]] = a.get("value", "on")
        elif tag == "button" and self.forms:
            self._button = Button("", a.get("name"), a.get("value"))

    def handle_data(self, data: str) -> None:
        if self._button is not None:
            self._button.text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button is not None:
            self._button.text = self._button.text.strip()
            self.forms[-1].buttons.append(self._button)
            self._button = None


def forms(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    return parser.forms


def button_texts(html: str) -> list[str]:
    return [b.text for f in forms(html) for b in f.buttons]


@dataclass
class Step:
    """Where a request landed: a page of the emulator, or the app's redirect URI."""

    response: requests.Response

    @property
    def at_app(self) -> bool:
        loc = self.response.headers.get("location", "")
        return self.response.is_redirect and loc.startswith(("http://localhost", "http://127.0.0.1"))

    @property
    def callback(self) -> dict[str, str]:
        """The parameters the app receives (query, fragment, or form_post fields)."""
        if self.at_app:
            parts = urlsplit(self.response.headers["location"])
            return dict(parse_qsl(parts.query or parts.fragment, keep_blank_values=True))
        posted = forms(self.response.text)
        assert posted and posted[0].method == "post", self.response.text[:500]
        return dict(posted[0].fields)

    @property
    def html(self) -> str:
        return self.response.text


class Browser:
    def __init__(self, session: requests.Session, base_url: str) -> None:
        self.session = session
        self.base_url = base_url

    def open(self, url: str) -> Step:
        return self._follow(self.session.get(url, allow_redirects=False))

    def press(self, step: Step, text: str, *, check: tuple[str, ...] = ()) -> Step:
        """Submit the form holding the button labelled ``text``, ticking the named checkboxes."""
        for form in forms(step.html):
            for b in form.buttons:
                if b.text == text:
                    data = dict(form.fields)
                    for name in check:
                        data[name] = form.checkboxes[name]
                    if b.name:
                        data[b.name] = b.value or ""
                    url = urljoin(self.base_url, form.action)
                    if form.method == "post":
                        resp = self.session.post(url, data=data, allow_redirects=False)
                    else:
                        resp = self.session.get(url, params=data, allow_redirects=False)
                    return self._follow(resp)
        raise AssertionError(f"No button {text!r}; buttons: {button_texts(step.html)}")

    def _follow(self, resp: requests.Response) -> Step:
        while resp.is_redirect:
            loc = resp.headers["location"]
            if not loc.startswith(self.base_url):
                break  # the app's redirect URI: stop, as the app would take over
            resp = self.session.get(loc, allow_redirects=False)
        return Step(resp)


def authorize_url(base_url: str, tenant: str, client_id: str, **params: str) -> str:
    """An authorize URL with sensible defaults (code flow to the seeded redirect URI)."""
    from urllib.parse import urlencode

    query = {"client_id": client_id, "response_type": "code", "redirect_uri": APP_REDIRECT,
             "scope": "openid profile offline_access User.Read", "state": "st-1", **params}
    return f"{base_url}/{tenant}/oauth2/v2.0/authorize?{urlencode(query)}"


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
