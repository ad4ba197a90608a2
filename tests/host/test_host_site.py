"""The proof of docs/install.md: a brand-new site installs the wheel and signs members in, calls Graph and
queues calls for its own Celery worker.

The site (tests/support/host.py) runs in its own virtualenv and processes; only the emulator runs in
this test process.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from emulator.server import RunningEmulator
from tests.support.browser import MemberBrowser
from tests.support.host import HostSite, build_wheel, make_virtualenv, pip
from tests.support.members import seeded_user

pytestmark = pytest.mark.host

ADMIN = {"email": "admin@host.test", "password": "a-long-admin-password-1"}


@pytest.fixture(scope="module")
def host(tmp_path_factory: pytest.TempPathFactory, emulator_server: RunningEmulator) -> Iterator[HostSite]:
    root = tmp_path_factory.mktemp("host")
    python = make_virtualenv(root / "venv", build_wheel(root))
    site = HostSite.create(root / "site", python, ca_file=emulator_server.ca_file)
    site.manage("makemigrations", "accounts")
    site.manage("makemigrations", "--check", "--dry-run")  # none for the apps, written into site-packages
    site.manage("check", "--fail-level", "WARNING")  # the recipe leaves nothing for the checks to report
    site.manage("migrate")
    site.manage("createsuperuser", "--noinput", "--email", ADMIN["email"],
                env={"DJANGO_SUPERUSER_PASSWORD": ADMIN["password"]})
    info = emulator_server.info
    site.manage("microsoft_settings", "--enabled", "yes", "--client-id", info["client_id"],
                "--client-secret", info["client_secret"], "--tenant", info["tenant_id"],
                "--authority-host", info["base_url"], "--graph-url", info["base_url"],
                "--default-scopes", "User.Read", "--app-tenant-id", info["tenant_id"])
    try:
        site.start()
        yield site
    finally:
        site.stop()


@pytest.fixture
def redirect_uri(host: HostSite, emulator: RunningEmulator) -> Iterator[str]:
    """The site's callback, registered with the app in Entra (here: the emulator) as the site owner does."""
    uri = host.url + host.reverse("membership:callback")
    app = emulator.emulator.state["apps"][0]
    with emulator.emulator.lock:
        app["redirect_uris"].append(uri)
    yield uri
    with emulator.emulator.lock:
        app["redirect_uris"].remove(uri)


@pytest.fixture
def no_members_after(host: HostSite) -> Iterator[None]:
    """The members and API keys a test makes on the site are gone after it (the superuser stays)."""
    yield
    host.shell("from django.contrib.auth import get_user_model; from graphfns.models import ApiKey; "
               f"get_user_model().objects.exclude(email={ADMIN['email']!r}).delete(); "
               "ApiKey.objects.all().delete(); print('null')")


def test_the_wheel_installs_the_two_apps_without_the_reference_site_or_the_emulator(host: HostSite) -> None:
    names = {line.split("==")[0].lower() for line in pip(host.python, "list", "--format=freeze").splitlines()}
    assert "msmembership" in names
    assert not names & {"trustme", "django-environ", "psycopg", "psycopg-binary", "gunicorn"}, sorted(names)
    site_packages = Path(host.shell("import json, django, pathlib; "
                                    "print(json.dumps(str(pathlib.Path(django.__file__).parent.parent)))"))
    assert (site_packages / "membership" / "templates").is_dir()
    assert (site_packages / "graphfns" / "templates").is_dir()
    assert not (site_packages / "project").exists()
    assert not (site_packages / "emulator").exists()


def test_a_member_signs_in_to_the_site_whose_page_and_worker_call_graph(
    host: HostSite, emulator: RunningEmulator, redirect_uri: str, member: MemberBrowser, no_members_after: None,
) -> None:
    lee, adele = seeded_user(emulator, "lee"), seeded_user(emulator, "adele")
    assert redirect_uri.startswith(f"{host.url}/microsoft/")

    # The site's page needs a signed-in user: LOGIN_URL sends the member to Microsoft and back.
    member.get(f"{host.url}/people/?colleague={quote(adele['userPrincipalName'])}")
    assert member.page is not None and member.page.url.startswith(emulator.base_url), host.logs()
    member.pick_user(lee["id"])
    if "decision" in member.page.text and "accept" in member.page.text:
        member.accept()
    assert member.page.url == f"{host.url}/people/?colleague={quote(adele['userPrincipalName'])}", \
        f"{member.page.url}\n{member.page.text[:2000]}\n{host.logs()}"
    assert member.page.json() == {"email": lee["mail"], "me": lee["displayName"], "colleague": adele["displayName"]}

    # The member is a user of the site's own model, found by its USERNAME_FIELD.
    with sqlite3.connect(f"file:{host.folder / 'db.sqlite3'}?mode=ro", uri=True) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(accounts_user)")]
        users = db.execute("SELECT id, email FROM accounts_user WHERE email != ?", [ADMIN["email"]]).fetchall()
        linked = db.execute("SELECT user_id FROM membership_microsoftaccount").fetchall()
    assert "username" not in columns and "first_name" not in columns
    assert [email for _, email in users] == [lee["mail"]]
    member_id = users[0][0]
    assert linked == [(member_id,)]

    # An async call through the site's HTTP API, run by the site's own worker.
    key = host.shell("import json; from graphfns.models import ApiKey; print(json.dumps(ApiKey.issue('host')[1]))")
    api = requests.Session()
    api.trust_env = False
    api.headers["Authorization"] = f"Bearer {key}"
    queued = api.post(f"{host.url}/graph-api/functions/users.get/execute?async=1", timeout=30,
                      json={"params": {"user_id": "me"}, "auth_user_id": member_id})
    assert queued.status_code == 202, f"{queued.text}\n{host.logs()}"
    status = wait_for_task(api, f"{host.url}/graph-api/tasks/{queued.json()['task_id']}")
    assert status["state"] == "succeeded", f"{status}\n{host.logs()}"
    assert status["result"]["displayName"] == lee["displayName"]
    assert "succeeded" in host.log("worker")
    # Neither the worker's log nor the queued messages and stored results show the member's profile.
    assert lee["displayName"] not in host.log("worker")
    for stored in [*(host.folder / "queue").glob("*"), *(host.folder / "results").glob("*")]:
        assert lee["displayName"].encode() not in stored.read_bytes(), stored

    # The site's own user admin shows the member with the apps' opt-in inline and mixin (its directory
    # roles, read from Graph as the application).
    member_page = admin_session(host).get(f"{host.url}/admin/accounts/user/{member_id}/change/", timeout=30)
    assert member_page.status_code == 200, f"{member_page.text[:3000]}\n{host.logs()}"
    assert "Microsoft accounts and Entra directory roles" in member_page.text
    assert lee["userPrincipalName"] in member_page.text
    assert "Directory roles could not be read" not in member_page.text, member_page.text


def test_the_redirect_uri_and_the_api_document_follow_the_sites_prefixes(host: HostSite) -> None:
    page = admin_session(host).get(f"{host.url}/admin/membership/microsoftsettings/1/change/", timeout=30)
    assert page.status_code == 200, f"{page.text[:3000]}\n{host.logs()}"
    callback = host.reverse("membership:callback")
    assert callback.startswith("/microsoft/")
    assert f"<code>{host.url}{callback}</code>" in page.text

    document = requests.get(f"{host.url}/graph-api/openapi.json", timeout=30).json()
    assert document["paths"] and all(path.startswith("/graph-api/") for path in document["paths"]), document["paths"]
    missing = requests.get(f"{host.url}/graph-api/no/such/thing", timeout=30)
    assert missing.status_code == 404 and "/graph-api/openapi.json" in missing.json()["error"]["message"]


def admin_session(host: HostSite) -> requests.Session:
    """The site's superuser, signed in to its admin with e-mail and password."""
    admin = requests.Session()
    admin.trust_env = False
    admin.get(f"{host.url}/admin/login/", timeout=30)
    signed_in = admin.post(f"{host.url}/admin/login/?next=/admin/", timeout=30, data={
        "csrfmiddlewaretoken": admin.cookies["csrftoken"], "username": ADMIN["email"], "password": ADMIN["password"]})
    assert signed_in.url == f"{host.url}/admin/", signed_in.text[:2000]
    return admin


def wait_for_task(api: requests.Session, url: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        status: dict[str, Any] = api.get(url, timeout=30).json()
        if status.get("state") not in ("pending", "running") or time.monotonic() > deadline:
            return status
        time.sleep(0.3)
