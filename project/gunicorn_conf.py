"""gunicorn's configuration for the web process: ``gunicorn -c python:project.gunicorn_conf project.wsgi``.

Every value can be changed by the environment (GUNICORN_BIND, GUNICORN_WORKERS, GUNICORN_THREADS,
GUNICORN_TIMEOUT). Threads share one process's persistent database connection pool, Graph session
pool and API-key memo; workers share nothing but the database and Redis.
"""

from __future__ import annotations

import os
from typing import Any

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
worker_class = "gthread"
# Longer than the longest synchronous function call can take (MICROSOFT_GRAPH_DEADLINE plus a token
# refresh), so gunicorn never kills a worker that is still waiting for Microsoft.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# No access log: its request line carries query strings (the sign-in callback's code, for one).
# The application logs one line per request itself, without the query string (project.request_log).
accesslog = None
errorlog = "-"
# gunicorn 24+ opens a control socket at a fixed path by default: two servers on one host would share it.
control_socket_disable = os.environ.get("GUNICORN_CONTROL_SOCKET", "") == ""
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]


def child_exit(server: Any, worker: Any) -> None:
    # Prometheus multiprocess mode: a dead worker's live gauges must not be summed any more.
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
