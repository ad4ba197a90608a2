"""Prometheus metrics of membership: members' token refreshes and the refresh sweep.

Defined on prometheus_client's default registry; the site decides how to expose them (this project:
``/metrics``, project/metrics.py). Labels hold outcomes only, never a member or a token.
"""

from __future__ import annotations

from prometheus_client import Counter

TOKEN_REFRESHES = Counter(
    "membership_token_refreshes_total",
    "Members' token refreshes by outcome: refreshed, needs_reconsent, failed (Microsoft refused for now), "
    "unavailable (Microsoft not reached), superseded (another process renewed it meanwhile).",
    ["outcome"],
)
SWEEP_ACCOUNTS = Counter(
    "membership_refresh_sweep_accounts_total",
    "Accounts handled by refresh-sweep batches, by outcome: refreshed, failed, needs_reconsent.",
    ["outcome"],
)
SWEEP_BATCHES = Counter("membership_refresh_sweep_batches_total", "Refresh-sweep batches finished.")
