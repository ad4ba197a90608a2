"""API keys for the HTTP API, and the log of function calls."""

from __future__ import annotations

import hashlib
import secrets
import time
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from graphfns.conf import conf

KEY_PREFIX = "gfn_"
# How often a key's last_used_at is written at most: "used within the last minute" is precise
# enough, and an UPDATE on every call cost more than the rest of the authentication.
LAST_USED_EVERY = timedelta(minutes=1)
MEMO_LIMIT = 1000  # keys remembered per process; beyond it the memo starts afresh
# key hash → (key, when it was read). Keys this process has seen valid, trusted for
# GRAPH_API_KEY_CACHE_SECONDS; saving or deleting a key (the admin's revoke action too) forgets them.
_memo: dict[str, tuple[ApiKey, float]] = {}


def forget_api_keys(**kwargs: object) -> None:
    """Drop every remembered key in this process (connected to ApiKey's post_save and post_delete)."""
    _memo.clear()


def api_key_cache_seconds() -> float:
    return conf.GRAPH_API_KEY_CACHE_SECONDS


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiKey(models.Model):
    """A bearer key for the HTTP API. Shown once when made; only its hash is stored."""

    name = models.CharField(max_length=100, help_text="Who or what uses this key, e.g. “intranet sync job”.")
    prefix = models.CharField(max_length=12, editable=False, db_index=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    allowed_functions = models.TextField(
        blank=True,
        help_text="Function names this key may run (one per line, e.g. users.get, or a family such as "
        "calendar.*). Empty: every function.",
    )
    delegated_only = models.BooleanField(
        default=False, help_text="Only calls on behalf of a member (auth_user_id); no application calls."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, help_text="Set to revoke the key.")

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @classmethod
    def issue(cls, name: str, **fields: object) -> tuple[ApiKey, str]:
        """A new key and its secret value (returned once, never stored)."""
        raw = KEY_PREFIX + secrets.token_urlsafe(32)
        key = cls.objects.create(name=name, prefix=raw[:10], key_hash=hash_key(raw), **fields)
        return key, raw

    @classmethod
    def authenticate(cls, raw: str) -> ApiKey | None:
        """The valid key whose secret is ``raw``, or None.

        A key found valid is trusted for GRAPH_API_KEY_CACHE_SECONDS in this process without asking
        the database again, so a revocation made in another process is seen within that window (in
        this process at once). Unknown secrets are never remembered: a new key works at once.
        """
        digest = hash_key(raw)
        now = time.monotonic()
        remembered = _memo.get(digest)
        if remembered is not None and now - remembered[1] < api_key_cache_seconds():
            key = remembered[0]
        else:
            found = cls.objects.filter(key_hash=digest, revoked_at__isnull=True).first()
            if found is None:
                _memo.pop(digest, None)
                return None
            if len(_memo) >= MEMO_LIMIT:
                _memo.clear()
            key = found
            _memo[digest] = (key, now)
        key.mark_used()
        return key

    def mark_used(self) -> None:
        """Stamp last_used_at, at most once per LAST_USED_EVERY for this key across all processes."""
        now = timezone.now()
        if self.last_used_at is not None and now - self.last_used_at < LAST_USED_EVERY:
            return
        stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_EVERY)
        ApiKey.objects.filter(stale, pk=self.pk).update(last_used_at=now)
        # Whether this process or another wrote it, it is recent now: skip the UPDATE for a minute.
        self.last_used_at = now

    @property
    def function_patterns(self) -> list[str]:
        return [line.strip() for line in self.allowed_functions.replace(",", "\n").splitlines() if line.strip()]

    def allows(self, function_name: str) -> bool:
        patterns = self.function_patterns
        if not patterns:
            return True
        family = function_name.split(".", 1)[0]
        return function_name in patterns or f"{family}.*" in patterns


class FunctionCall(models.Model):
    """One Graph function call: who asked, for whom, how it ended, how long it took."""

    class Status(models.TextChoices):
        OK = "ok", "OK"
        ERROR = "error", "Error"

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    function = models.CharField(max_length=100)
    caller = models.CharField(max_length=150, help_text="API key, user, cli or task.")
    acting_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", help_text="The member acted for; empty: the application.")
    mode = models.CharField(max_length=12)  # delegated | application
    status = models.CharField(max_length=8, choices=Status.choices)
    error_code = models.CharField(max_length=60, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    graph_requests = models.PositiveIntegerField(default=0)
    request_id = models.CharField(max_length=64, blank=True, help_text="Graph's request-id of the last request.")

    class Meta:
        ordering = ["-created_at"]
        # One per filter and exact search the admin offers, each ending in created_at: the list asks
        # for the newest matching rows, which such an index gives without reading the others.
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["function", "created_at"], name="graphfns_call_function_idx"),
            models.Index(fields=["error_code", "created_at"], name="graphfns_call_error_idx"),
            models.Index(fields=["mode", "created_at"], name="graphfns_call_mode_idx"),
            models.Index(fields=["caller", "created_at"], name="graphfns_call_caller_idx"),
            models.Index(fields=["request_id"], name="graphfns_call_request_id_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.function} {self.status}"

    @property
    def acting_for(self) -> str:
        return "application" if self.mode == "application" else str(self.acting_user or "member (deleted)")



class DailyCallStats(models.Model):
    """One function's calls on one UTC day, summed up from the call log (graphfns.call_stats).

    Kept for GRAPH_CALL_STATS_RETENTION_DAYS, long after the raw rows are purged. A day is
    recomputed from the raw rows until the purge first deletes from it; then it is ``sealed``.
    """

    day = models.DateField()
    function = models.CharField(max_length=100)
    calls = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    errors_by_code = models.JSONField(default=dict, blank=True, help_text="Catalog error code → calls.")
    p50_ms = models.FloatField(default=0, verbose_name="p50 (ms)")
    p95_ms = models.FloatField(default=0, verbose_name="p95 (ms)")
    graph_requests = models.PositiveBigIntegerField(default=0)
    computed_at = models.DateTimeField(default=timezone.now, help_text="When it was summed up from the raw rows.")
    sealed = models.BooleanField(default=False, help_text="The purge has deleted raw rows of this day: final.")

    class Meta:
        verbose_name = "daily call statistics"
        verbose_name_plural = "daily call statistics"
        ordering = ["-day", "function"]
        constraints = [models.UniqueConstraint(fields=["day", "function"], name="graphfns_stats_day_function")]

    def __str__(self) -> str:
        return f"{self.function} {self.day}"

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0
