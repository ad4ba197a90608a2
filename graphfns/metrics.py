"""Prometheus metrics of Graph functions: calls, Graph latency, retries, application tokens.

Defined on prometheus_client's default registry; the site decides how to expose them (this project:
``/metrics``, project/metrics.py). Labels are function names and catalog codes: a bounded set.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

FUNCTION_CALLS = Counter(
    "graphfns_function_calls_total",
    "Graph function calls by function and outcome (code: ok, or the catalog error code).",
    ["function", "code"],
)
GRAPH_REQUEST_SECONDS = Histogram(
    "graphfns_graph_request_duration_seconds",
    "Time for one request to Microsoft Graph (one attempt), by the function that made it.",
    ["function"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
GRAPH_RETRIES = Counter(
    "graphfns_graph_retries_total",
    "Graph requests sent again, by reason: the status (429, 503, 504), timeout or connection.",
    ["reason"],
)
APP_TOKEN_RENEWALS = Counter(
    "graphfns_app_token_renewals_total",
    "Application (client-credentials) token requests to Microsoft, by outcome: renewed or the catalog error code.",
    ["outcome"],
)
