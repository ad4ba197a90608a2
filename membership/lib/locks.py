"""Cross-process locks: Redis when REDIS_URL is set, else a file lock (one machine, no server)."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import lru_cache

from django.core.exceptions import ImproperlyConfigured
from redis.exceptions import LockNotOwnedError, RedisError

from membership.conf import conf

log = logging.getLogger(__name__)


class LockTimeout(Exception):
    pass


@lru_cache(maxsize=1)
def _redis(url: str):  # type: ignore[no-untyped-def]
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=10)


@contextmanager
def held(name: str, *, timeout: float = 30, wait: float = 30) -> Iterator[None]:
    """Hold the lock ``name`` across every process of the deployment.

    ``timeout`` bounds how long a crashed holder can keep it (Redis); ``wait`` how long to queue.
    """
    if conf.REDIS_URL:
        lock = _redis(conf.REDIS_URL).lock(f"lock:{name}", timeout=timeout, blocking_timeout=wait)
        try:
            acquired = lock.acquire()
        except RedisError:
            # Redis is down: fall back to this machine's file lock rather than stop working.
            log.warning("Redis unavailable for lock %s; using a local file lock", name)
        else:
            if not acquired:
                raise LockTimeout(name)
            try:
                yield
            finally:
                with suppress(LockNotOwnedError, RedisError):  # expired while held, or Redis gone
                    lock.release()
            return
    with _file_lock(name, wait):
        yield


@contextmanager
def _file_lock(name: str, wait: float) -> Iterator[None]:
    if conf.VAR_DIR is None:
        # The system check membership.E004 reports this at start-up.
        raise ImproperlyConfigured("VAR_DIR is not set: file locks need a folder only the site can write. "
                                   "Set VAR_DIR, or REDIS_URL for Redis locks.")
    folder = conf.VAR_DIR / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / hashlib.sha256(name.encode()).hexdigest()[:32]
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    try:
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise LockTimeout(name) from None
                time.sleep(0.01)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
