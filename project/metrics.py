"""``GET /metrics``: Prometheus's text format, for a scraper holding METRICS_TOKEN.

Without METRICS_TOKEN the URL does not exist (404). Under gunicorn each worker process counts on
its own; with PROMETHEUS_MULTIPROC_DIR set (a folder shared by the processes of one host, emptied
before they start) any worker answers for all of them, as prometheus_client's multiprocess mode
describes. The metrics are defined by the apps (membership/metrics.py, graphfns/metrics.py).
"""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector

import graphfns.metrics  # noqa: F401  (registers the metrics, also in a process that made no call yet)
import membership.metrics  # noqa: F401


@require_GET
@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.METRICS_TOKEN
    if not token:
        raise Http404("No metrics here.")
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
        response = HttpResponse("Send the metrics token as 'Authorization: Bearer <METRICS_TOKEN>'.\n", status=401,
                                content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    return HttpResponse(generate_latest(registry), content_type=CONTENT_TYPE_LATEST)
