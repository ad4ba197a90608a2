"""The refresh sweep: exactly the due accounts, each refresh token redeemed once, with real workers."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from django.core import mail
from django.utils import timezone

from membership.models import MicrosoftAccount, RefreshSweep
from membership.refresh import plan_sweep, run_batch
from tests.support.members import Connect, account_of
from tests.support.workers import Workers


def age(account: MicrosoftAccount, days: int) -> None:
    MicrosoftAccount.objects.filter(pk=account.pk).update(last_refreshed_at=timezone.now() - timedelta(days=days))


def cast(connect: Connect) -> tuple[list[MicrosoftAccount], list[MicrosoftAccount]]:
    due = [account_of(connect(n)) for n in ("lee", "alex", "megan")]
    recent = [account_of(connect(n)) for n in ("diego", "grady")]
    for a in due:
        age(a, 8)
    for a in recent:
        age(a, 2)
    return due, recent


def test_the_sweep_renews_exactly_the_due_accounts(connect: Connect, emulator: Any) -> None:
    due, recent = cast(connect)
    before = {a.pk: a.refresh_token for a in [*due, *recent]}
    emulator.emulator.grants.clear()
    sweep, batches = plan_sweep()
    assert sweep.due == 3
    for ids in batches:
        run_batch(sweep.pk, ids)
    sweep.refresh_from_db()
    assert (sweep.refreshed, sweep.failed, sweep.needs_reconsent) == (3, 0, 0)
    assert sweep.finished_at is not None
    assert emulator.emulator.grants["refresh_token"] == 3
    for a in due:
        assert MicrosoftAccount.objects.get(pk=a.pk).refresh_token != before[a.pk]
    for a in recent:
        assert MicrosoftAccount.objects.get(pk=a.pk).refresh_token == before[a.pk]
    # A redelivered batch redeems nothing again.
    for ids in batches:
        run_batch(sweep.pk, ids)
    assert emulator.emulator.grants["refresh_token"] == 3


def test_a_revoked_grant_ends_needs_reconsent_with_one_email(connect: Connect, emulator: Any, http_emulator: Any, django_user_model: Any) -> None:
    lee = connect("lee")
    lee.email = "lee@contoso.test"
    lee.save()
    account = account_of(lee)
    age(account, 30)
    http_emulator.post(f"{emulator.base_url}/_emulator/users/lee@contoso.test/invalid-grant", json={"code": 50173})
    for _ in range(2):  # a second sweep skips it: no second e-mail
        sweep, batches = plan_sweep()
        for ids in batches:
            run_batch(sweep.pk, ids)
    assert RefreshSweep.objects.order_by("started_at").first().needs_reconsent == 1
    assert RefreshSweep.objects.order_by("started_at").last().due == 0
    account.refresh_from_db()
    assert account.status == "needs_reconsent"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["lee@contoso.test"]
    assert "/account/" in mail.outbox[0].body


def test_the_beat_schedule_is_in_the_database(db: None) -> None:
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="membership.sweep_refresh_tokens")
    assert task.enabled
    assert (task.crontab.hour, task.crontab.minute) == ("3", "0")


def test_two_workers_and_the_web_process_redeem_each_refresh_token_once(
    connect: Connect, emulator: Any, celery_workers: Workers
) -> None:
    from membership import tokens

    names = ["lee", "alex", "megan", "diego", "grady", "isaiah", "johanna", "lidia", "lynne", "miriam"]
    accounts = [account_of(connect(n)) for n in names]
    for a in accounts:
        age(a, 10)
        MicrosoftAccount.objects.filter(pk=a.pk).update(access_token_expires_at=timezone.now())
    emulator.emulator.strict_rotation = True  # redeeming a token twice would fail the account
    emulator.emulator.grants.clear()
    from django.test import override_settings

    from membership.tasks import refresh_batch

    with override_settings(MICROSOFT_REFRESH_BATCH_SIZE=2):
        sweep, batches = plan_sweep()
    for ids in batches:
        refresh_batch.delay(sweep.pk, ids)
    # Meanwhile the web process renews the same accounts, in the opposite order.
    for a in reversed(accounts):
        tokens.refresh_account(a.pk, renewed_before=sweep.renewed_before)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not RefreshSweep.objects.filter(pk=sweep.pk, finished_at__isnull=False).exists():
        time.sleep(0.2)
    sweep = RefreshSweep.objects.get(pk=sweep.pk)
    assert sweep.finished_at is not None, [w.read_text()[-3000:] for w in celery_workers.logs]
    assert sweep.due == 10
    assert list(MicrosoftAccount.objects.values_list("status", flat=True).distinct()) == ["active"]
    # Each account renewed once: by the web process (which renews its stale access token) or the sweep.
    assert emulator.emulator.grants["refresh_token"] == 10
    assert sweep.refreshed == 10


def test_the_scheduled_task_plans_and_queues_the_sweep(connect: Connect, emulator: Any, celery_workers: Workers) -> None:
    from membership.tasks import sweep_refresh_tokens

    cast(connect)
    emulator.emulator.grants.clear()
    outcome = sweep_refresh_tokens.delay().get(timeout=60)
    assert outcome["due"] == 3
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not RefreshSweep.objects.filter(finished_at__isnull=False).exists():
        time.sleep(0.2)
    sweep = RefreshSweep.objects.get()
    assert (sweep.due, sweep.refreshed, sweep.finished_at is not None) == (3, 3, True)
    assert emulator.emulator.grants["refresh_token"] == 3


def test_the_admin_lists_sweeps_and_queues_one_on_request(admin_client: Any, connect: Connect, emulator: Any, celery_workers: Workers) -> None:
    cast(connect)
    page = admin_client.get("/admin/membership/refreshsweep/")
    assert page.status_code == 200
    assert "Run a sweep now" in page.content.decode()
    response = admin_client.post("/admin/membership/refreshsweep/run/", follow=True)
    assert "A refresh sweep was queued" in response.content.decode()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not RefreshSweep.objects.filter(finished_at__isnull=False).exists():
        time.sleep(0.2)
    html = admin_client.get("/admin/membership/refreshsweep/").content.decode()
    assert "1/1" in html  # batches done
    assert RefreshSweep.objects.get().refreshed == 3


def wait_for_finished_sweep(timeout: float = 90) -> RefreshSweep:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sweep = RefreshSweep.objects.order_by("-started_at").first()
        if sweep is not None and sweep.finished_at is not None:
            return sweep
        time.sleep(0.2)
    raise AssertionError("the sweep did not finish")


def test_a_sweep_during_an_authority_outage_finishes_every_batch_and_counts_the_failures(
    connect: Connect, emulator: Any, http_emulator: Any, celery_workers: Workers
) -> None:
    from django.test import override_settings

    from membership.tasks import refresh_batch

    accounts = [account_of(connect(n)) for n in ("lee", "alex", "megan", "diego", "grady")]
    for a in accounts:
        age(a, 10)
    for kind in ("status", "reset"):  # half the token requests answer 503, the other half drop the connection
        http_emulator.post(f"{emulator.base_url}/_emulator/faults",
                           json={"kind": kind, "status": 503, "path": "/*/oauth2/v2.0/token", "rate": 1})
    with override_settings(MICROSOFT_REFRESH_BATCH_SIZE=2):
        sweep, batches = plan_sweep()
    assert len(batches) == 3
    for ids in batches:
        refresh_batch.delay(sweep.pk, ids)
    sweep = wait_for_finished_sweep()
    assert (sweep.batches_done, sweep.batches) == (3, 3), [w.read_text()[-3000:] for w in celery_workers.logs]
    assert (sweep.due, sweep.refreshed, sweep.failed, sweep.needs_reconsent) == (5, 0, 5, 0)
    # An outage is no reason to make members reconnect; the next sweep, after it, renews them all.
    assert set(MicrosoftAccount.objects.values_list("status", flat=True)) == {"active"}
    http_emulator.delete(f"{emulator.base_url}/_emulator/faults")
    sweep, batches = plan_sweep()
    for ids in batches:
        run_batch(sweep.pk, ids)
    sweep.refresh_from_db()
    assert (sweep.due, sweep.refreshed, sweep.failed) == (5, 5, 0)


def test_a_batch_finishes_when_the_authority_cannot_even_be_discovered(
    connect: Connect, emulator: Any, http_emulator: Any
) -> None:
    from django.core.cache import cache

    from membership import identity

    cast(connect)
    identity._apps.clear()  # a fresh worker process: it must fetch the OpenID configuration first
    identity._http_cache.clear()
    cache.clear()
    try:
        http_emulator.post(f"{emulator.base_url}/_emulator/faults",
                           json={"kind": "reset", "path": "/*/v2.0/.well-known/openid-configuration", "rate": 1})
        sweep, batches = plan_sweep()
        for ids in batches:
            run_batch(sweep.pk, ids)
    finally:
        http_emulator.delete(f"{emulator.base_url}/_emulator/faults")
        identity._apps.clear()
    sweep.refresh_from_db()
    assert sweep.finished_at is not None and sweep.batches_done == sweep.batches == 1
    assert (sweep.refreshed, sweep.failed) == (0, 3)


def test_a_sweep_renews_nothing_while_microsoft_sign_in_is_switched_off(
    connect: Connect, emulator: Any, microsoft: Any
) -> None:
    cast(connect)
    emulator.emulator.grants.clear()
    planned, batches = plan_sweep()  # planned while on, run after the switch-off
    microsoft.enabled = False
    microsoft.save()
    for ids in batches:
        run_batch(planned.pk, ids)
    planned.refresh_from_db()
    assert planned.finished_at is not None and planned.refreshed == 0
    assert "switched off" in planned.note
    sweep, batches = plan_sweep()
    assert batches == [] and sweep.due == 0 and sweep.finished_at is not None
    assert "switched off" in sweep.note
    assert emulator.emulator.grants["refresh_token"] == 0


def test_an_account_whose_tokens_cannot_be_decrypted_does_not_stop_the_batch(
    connect: Connect, emulator: Any, settings: Any
) -> None:
    from cryptography.fernet import Fernet

    from membership.models import MicrosoftSettings

    due, _ = cast(connect)
    old = list(settings.FIELD_ENCRYPTION_KEY)
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEY = [new, *old]
    ms = MicrosoftSettings.load()
    ms.client_secret = ms.client_secret
    ms.save()
    for a in due[1:]:  # re-encrypt every due account but the first with the new key
        account = MicrosoftAccount.objects.with_tokens().get(pk=a.pk)
        account.save()
    settings.FIELD_ENCRYPTION_KEY = [new]
    sweep, batches = plan_sweep()
    for ids in batches:
        run_batch(sweep.pk, ids)
    sweep.refresh_from_db()
    assert (sweep.due, sweep.refreshed, sweep.needs_reconsent, sweep.failed) == (3, 2, 1, 0)
    lost = MicrosoftAccount.objects.get(pk=due[0].pk)
    assert lost.status == "needs_reconsent" and "FIELD_ENCRYPTION_KEY" in lost.last_error
