"""The directory sync: members follow Entra through a users delta query made as the application."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.contrib.auth.models import User

from graphfns.directory import sync_directory
from graphfns.models import DirectorySync, DirectorySyncRun
from membership.models import MicrosoftAccount, MicrosoftSettings, RoleMapping
from membership.signals import member_deactivated
from tests.support.api import failure
from tests.support.directory import Directory, group_names, link_members, mapping
from tests.support.members import Connect, account_of
from tests.support.workers import Workers


@pytest.fixture
def directory(emulator: Any, http_emulator: Any) -> Directory:
    return Directory(emulator, http_emulator)


@pytest.fixture
def deactivations() -> Any:
    seen: list[dict[str, Any]] = []

    def receive(sender: Any, account: MicrosoftAccount, reason: str, why: str, **kwargs: Any) -> None:
        seen.append({"user": account.user_id, "reason": reason, "why": why})

    member_deactivated.connect(receive)
    yield seen
    member_deactivated.disconnect(receive)


def synced(**kwargs: Any) -> DirectorySyncRun:
    run = sync_directory(**kwargs)
    assert run.finished_at is not None
    return run


def test_the_first_run_reads_every_user_and_the_next_only_the_changes(
        connect: Connect, directory: Directory) -> None:
    lee = connect("lee")
    first = synced()
    assert first.complete and first.seen > 10 and first.members == 1 and not first.error_code
    assert DirectorySync.objects.get().delta_link

    directory.patch("lee@contoso.test", jobTitle="Head of Sales", givenName="Leeanne", surname="Gordon",
                    displayName="Leeanne Gordon")
    second = synced()
    assert (second.complete, second.seen, second.members, second.updated) == (True, 1, 1, 1)
    account = account_of(lee)
    lee.refresh_from_db()
    assert (account.job_title, account.display_name, lee.first_name, lee.last_name) == (
        "Head of Sales", "Leeanne Gordon", "Leeanne", "Gordon")
    assert synced().seen == 0


def test_the_email_follows_entra_unless_the_member_changed_it_here(connect: Connect, directory: Directory) -> None:
    lee, alex = connect("lee"), connect("alex")
    User.objects.filter(pk=alex.pk).update(email="alex@home.example")
    synced()
    directory.patch("lee@contoso.test", mail="lee.adams@contoso.test")
    directory.patch("alex@contoso.test", mail="alex.wilber@contoso.test")
    synced()
    lee.refresh_from_db()
    alex.refresh_from_db()
    assert (lee.email, alex.email) == ("lee.adams@contoso.test", "alex@home.example")
    assert account_of(alex).email == "alex.wilber@contoso.test"


@pytest.mark.parametrize(("leave", "why"), [
    (lambda d: d.disable("lee@contoso.test"), "disabled"),
    (lambda d: d.delete("lee@contoso.test"), "deleted"),
    (lambda d: d.delete("lee@contoso.test", permanent=True), "deleted"),
])
def test_a_member_who_leaves_entra_is_deactivated_by_the_next_sync_and_the_api_refuses_to_act_for_them(
        connect: Connect, directory: Directory, deactivations: list[dict[str, Any]], leave: Any, why: str) -> None:
    lee, alex = connect("lee"), connect("alex")
    synced()
    leave(directory)
    run = synced()
    assert (run.deactivated, run.failed) == (1, 0)
    lee.refresh_from_db()
    account = MicrosoftAccount.objects.with_tokens().get(user=lee)
    assert not lee.is_active
    assert (account.access_token, account.refresh_token, account.status) == ("", "", "revoked")
    assert account.left_directory == why and why in account.last_error
    assert deactivations == [{"user": lee.pk, "reason": account.last_error, "why": why}]
    error = failure("users.get", {"user_id": "me"}, auth_user=lee.pk)
    assert error.code == "MemberInactive"
    alex.refresh_from_db()
    assert alex.is_active and MicrosoftAccount.objects.get(user=alex).status == "active"
    assert synced().deactivated == 0  # told once


def test_a_member_enabled_again_is_reactivated_only_when_the_settings_say_so(
        connect: Connect, directory: Directory, microsoft: MicrosoftSettings) -> None:
    lee = connect("lee")
    synced()
    directory.disable("lee@contoso.test")
    synced()
    directory.enable("lee@contoso.test")
    assert synced().reactivated == 0
    lee.refresh_from_db()
    assert not lee.is_active

    microsoft.reactivate_returning_members = True
    microsoft.save()
    directory.patch("lee@contoso.test", jobTitle="Back again")  # the next delta shows lee again
    assert synced().reactivated == 1
    lee.refresh_from_db()
    assert lee.is_active and account_of(lee).left_directory == ""


def test_a_member_deactivated_by_an_administrator_is_not_reactivated_by_the_sync(
        connect: Connect, directory: Directory, microsoft: MicrosoftSettings) -> None:
    microsoft.reactivate_returning_members = True
    microsoft.save()
    lee = connect("lee")
    synced()
    User.objects.filter(pk=lee.pk).update(is_active=False)
    directory.patch("lee@contoso.test", jobTitle="Still here")
    run = synced()
    lee.refresh_from_db()
    assert (run.reactivated, lee.is_active) == (0, False)


def test_the_sync_takes_away_the_mapped_group_when_the_app_role_is_unassigned(
        connect: Connect, directory: Directory) -> None:
    mapping(RoleMapping.Source.APP_ROLE, "Editor", "Editors")
    lee, alex = connect("lee"), connect("alex")
    directory.assign_role("lee@contoso.test", "Editor")
    synced()
    assert group_names(lee) == {"Editors"} and group_names(alex) == set()

    directory.unassign_role("lee@contoso.test", "Editor")  # no change to the user: not in the users delta
    run = synced()
    assert group_names(lee) == set()
    assert (run.seen, run.updated) == (0, 1)


def test_the_sync_maps_groups_and_app_roles_given_through_a_group(connect: Connect, directory: Directory) -> None:
    lee = connect("lee")
    staff = directory.group("Staff", ("lee@contoso.test",))
    readers = directory.group("Readers")
    directory.call("POST", f"/groups/{readers}/members", {"id": staff})  # lee reads through Staff
    directory.call("POST", f"/groups/{readers}/app-role-assignments", {"value": "Reader"})
    mapping(RoleMapping.Source.GROUP, staff, "Staff")
    mapping(RoleMapping.Source.APP_ROLE, "Reader", "Readers")
    synced()
    assert group_names(lee) == {"Staff", "Readers"}


def test_a_sync_interrupted_between_pages_resumes_without_missing_or_repeating_a_change(
        directory: Directory, microsoft: MicrosoftSettings, emulator: Any) -> None:
    tenant_id, ids = directory.bulk(230)
    link_members(tenant_id, ids)
    assert synced().complete
    changed = ids[::2]  # 115 changes: two pages of the next round
    for oid in changed:
        directory.patch(oid, jobTitle="Changed")

    stopped = synced(budget=0)  # stops after its first page (its time budget is spent)
    assert (stopped.complete, stopped.pages, stopped.seen) == (False, 1, 100)
    next_link = DirectorySync.objects.get().next_link
    assert next_link

    directory.fault(path="/v1.0/users/delta", status=500, count=1)  # the second page fails
    failed = synced()
    assert (failed.complete, failed.error_code, failed.seen) == (False, "UpstreamUnavailable", 0)
    assert DirectorySync.objects.get().next_link == next_link  # kept, to resume from

    resumed = synced()
    assert (resumed.complete, resumed.seen, resumed.error_code) == (True, 15, "")
    assert stopped.updated + resumed.updated == len(changed)
    assert sorted(MicrosoftAccount.objects.filter(job_title="Changed").values_list("object_id", flat=True)) == \
        sorted(changed)
    assert synced().seen == 0


def test_a_graph_outage_is_recorded_with_its_code(connect: Connect, directory: Directory) -> None:
    connect("lee")
    directory.fault(path="/v1.0/users/delta", status=503, count=10)
    run = synced()
    assert (run.complete, run.error_code) == (False, "UpstreamUnavailable")
    assert "unavailable" in run.note
    directory.clear_faults()
    assert synced().complete


def test_a_delta_token_graph_no_longer_knows_starts_a_full_round(connect: Connect, directory: Directory) -> None:
    connect("lee")
    synced()
    DirectorySync.objects.update(delta_link=DirectorySync.objects.get().delta_link + "broken")
    run = synced()
    assert run.complete and run.seen > 10 and not run.error_code


def test_switched_off_the_sync_does_nothing_and_says_why(microsoft: MicrosoftSettings) -> None:
    microsoft.enabled = False
    microsoft.save()
    run = synced()
    assert (run.complete, run.error_code) == (False, "MicrosoftAuthDisabled")


def test_the_beat_schedule_is_in_the_database(db: None) -> None:
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="graphfns.sync_directory")
    assert task.enabled and task.crontab.minute == "41"


def test_the_admin_lists_runs_and_run_now_queues_one_for_a_worker(
        admin_client: Any, connect: Connect, directory: Directory, celery_workers: Workers) -> None:
    connect("lee")
    page = admin_client.get("/admin/graphfns/directorysyncrun/")
    assert page.status_code == 200 and "Run now" in page.content.decode()
    response = admin_client.post("/admin/graphfns/directorysyncrun/run/", follow=True)
    assert "A directory sync run was queued" in response.content.decode()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not DirectorySyncRun.objects.filter(finished_at__isnull=False).exists():
        time.sleep(0.2)
    run = DirectorySyncRun.objects.get()
    assert run.complete and run.members == 1, [w.read_text()[-3000:] for w in celery_workers.logs]
    assert "Directory sync" in admin_client.get("/admin/graphfns/directorysyncrun/").content.decode()
