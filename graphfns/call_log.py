"""Recording function calls without slowing them down.

By default entries are written behind: ``record`` queues the row and a writer thread inserts
queued rows in batches (gathered for up to half a second) on its own database connection, closed
whenever the queue runs dry, so a call pays microseconds, not an INSERT. ``flush()`` ends the
gathering at once and waits until everything queued is stored; it runs at interpreter exit and at
the end of each background task, so a short process (the CLI) does not wait out the batching
window. With GRAPH_CALL_LOG_WRITE_BEHIND off, ``record`` inserts at once.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from typing import Any

from django.db import close_old_connections, connection

from graphfns.conf import conf
from graphfns.models import FunctionCall

log = logging.getLogger(__name__)

BATCH = 500
GATHER_SECONDS = 0.5
_queue: queue.Queue[dict[str, Any]] = queue.Queue()
_FLUSH: dict[str, Any] = {}  # queued by flush(): the writer stores what it has gathered without waiting
_state = {"pid": 0}
_lock = threading.Lock()


def record(**fields: Any) -> None:
    if not conf.GRAPH_CALL_LOG_WRITE_BEHIND:
        FunctionCall.objects.create(**fields)
        return
    _ensure_writer()
    _queue.put(fields)


def flush(timeout: float = 10.0) -> None:
    """Block until every queued entry is stored (or ``timeout`` passes)."""
    if _state["pid"] != os.getpid():
        return
    _queue.put(_FLUSH)
    done = threading.Event()

    def waiter() -> None:
        _queue.join()
        done.set()

    threading.Thread(target=waiter, daemon=True).start()
    done.wait(timeout)


def _ensure_writer() -> None:
    # A forked worker (Celery prefork) inherits the queue but not the thread: start its own.
    if _state["pid"] == os.getpid():
        return
    with _lock:
        if _state["pid"] != os.getpid():
            threading.Thread(target=_write_forever, name="graph-call-log", daemon=True).start()
            _state["pid"] = os.getpid()


def _write_forever() -> None:
    while True:
        rows = [_queue.get()]
        # Gather for a moment: one INSERT of many rows costs the calls far less than one per call.
        deadline = time.monotonic() + GATHER_SECONDS
        while len(rows) < BATCH and rows[-1] is not _FLUSH:
            try:
                rows.append(_queue.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        entries = [r for r in rows if r is not _FLUSH]
        try:
            if entries:
                close_old_connections()
                FunctionCall.objects.bulk_create([FunctionCall(**r) for r in entries])
        except Exception:  # the log must never take a call down with it
            log.exception("Could not store %d function call log entries", len(entries))
            connection.close()
        finally:
            if _queue.empty():
                connection.close()  # idle: hold no database session (nor a SQLite lock) between bursts
            for _ in rows:
                _queue.task_done()


atexit.register(flush, 5.0)
