"""Directory sync benchmark (a measurement, not a test): `make bench` runs it.

A directory of 10,000 users (the emulator's bulk control call), every one linked to a member here,
with two role mappings (an app role and a group, both held by some members). A first full sync
reads them all; then 1% of the users change in Entra (90 renamed, 10 disabled) and the delta sync
is measured: wall time, the Graph requests it made (the sync's own count and the emulator's), and,
in the same run, a bare paged read of the same delta (the stored deltaLink followed to its end, no
processing) — the ratio between the two is what handling the changes costs over reading them.

Database: BENCH_DATABASE_URL (e.g. PostgreSQL) or a SQLite file. Runs in this process, no worker.
Usage: ``.venv/bin/python bench/directory_sync.py [--users 10000] [--changed 100]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.emulator_throughput import emulator_session  # noqa: E402
from bench.refresh_sweep import environment, start_emulator  # noqa: E402


def graph_requests(http: Any, control: str) -> int:
    counts = http.get(f"{control}/counters").json()["requests"]
    return sum(n for key, n in counts.items() if " /v1.0" in key)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--changed", type=int, default=100)
    args = parser.parse_args()
    var = Path(tempfile.mkdtemp(prefix="directory-bench-"))
    env = environment(var)
    emulator, info = start_emulator(var)
    import os

    env["MICROSOFT_CA_BUNDLE"] = os.environ["MICROSOFT_CA_BUNDLE"] = info["ca_file"]

    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command

    from graphfns.app_tokens import AppTokenCache
    from graphfns.client import GraphClient
    from graphfns.directory import sync_directory
    from graphfns.models import DirectorySync
    from membership.models import MicrosoftAccount, MicrosoftSettings, RoleMapping

    call_command("migrate", verbosity=0)
    ms = MicrosoftSettings(pk=1, enabled=True, client_id=info["client_id"], client_secret=info["client_secret"],
                           tenant=info["tenant_id"], app_tenant_id=info["tenant_id"],
                           authority_host=info["base_url"], graph_url=info["base_url"], default_scopes="User.Read")
    ms.save()
    http = emulator_session(info["ca_file"])
    control = f"{info['base_url']}/_emulator"

    setup_started = time.perf_counter()
    answer = http.post(f"{control}/users/bulk", json={"count": args.users, "prefix": "member"}, timeout=600).json()
    tenant_id, ids = answer["tenant_id"], answer["ids"]
    users = User.objects.bulk_create([User(username=f"bench-{i}") for i in range(len(ids))], batch_size=1000)
    MicrosoftAccount.objects.bulk_create([
        MicrosoftAccount(user=u, tenant_id=tenant_id.lower(), object_id=oid.lower())
        for u, oid in zip(users, ids, strict=True)], batch_size=1000)
    team = http.post(f"{control}/groups", json={"displayName": "Bench team"}).json()["id"]
    for oid in ids[:50]:
        http.post(f"{control}/groups/{team}/members", json={"id": oid})
        http.post(f"{control}/users/{oid}/app-role-assignments", json={"value": "Editor"})
    editors = RoleMapping.objects.create(source=RoleMapping.Source.APP_ROLE, value="Editor")
    editors.groups.set([Group.objects.create(name="Editors")])
    teams = RoleMapping.objects.create(source=RoleMapping.Source.GROUP, value=team)
    teams.groups.set([Group.objects.create(name="Team")])
    setup_seconds = time.perf_counter() - setup_started

    http.delete(f"{control}/counters")
    started = time.perf_counter()
    full = sync_directory(budget=3600)
    full_wall = time.perf_counter() - started
    full_seen_by_emulator = graph_requests(http, control)
    assert full.complete and not full.error_code, (full.error_code, full.note)
    delta_link = DirectorySync.objects.get().delta_link

    step = max(1, len(ids) // args.changed)
    changed = ids[::step][:args.changed]
    disabled = changed[: max(1, args.changed // 10)]
    for oid in changed:
        if oid in disabled:
            http.post(f"{control}/users/{oid}/disable")
        else:
            http.patch(f"{control}/users/{oid}", json={"jobTitle": "Changed"})

    http.delete(f"{control}/counters")
    started = time.perf_counter()
    delta = sync_directory(budget=3600)
    delta_wall = time.perf_counter() - started
    delta_seen_by_emulator = graph_requests(http, control)
    assert delta.complete and not delta.error_code, (delta.error_code, delta.note)

    # The same delta read bare: the deltaLink the delta sync started from, followed to its end.
    client = GraphClient(ms.graph_url, AppTokenCache(ms).token())
    http.delete(f"{control}/counters")
    started = time.perf_counter()
    bare_users = len(list(client.pages(delta_link)))
    bare_wall = time.perf_counter() - started
    bare_requests = graph_requests(http, control)

    deactivated = User.objects.filter(is_active=False).count()
    retitled = MicrosoftAccount.objects.filter(job_title="Changed").count()
    emulator.terminate()
    print(json.dumps({
        "directory_users": len(ids),
        "members_linked": len(ids),
        "database": env["DATABASE_URL"].split(":", 1)[0],
        "full_sync": {"wall_seconds": round(full_wall, 2), "graph_requests": full.graph_requests,
                      "graph_requests_seen_by_emulator": full_seen_by_emulator, "pages": full.pages,
                      "seen": full.seen, "updated": full.updated, "failed": full.failed},
        "changed_in_entra": len(changed),
        "delta_sync": {"wall_seconds": round(delta_wall, 3), "graph_requests": delta.graph_requests,
                       "graph_requests_seen_by_emulator": delta_seen_by_emulator, "pages": delta.pages,
                       "seen": delta.seen, "updated": delta.updated, "deactivated": delta.deactivated,
                       "failed": delta.failed},
        "bare_delta_read": {"wall_seconds": round(bare_wall, 3), "graph_requests": bare_requests,
                            "users": bare_users},
        # HTTP requests the sync sent (a $batch counts once), and Graph operations (each $batch item counts).
        "ratio_requests_sync_to_bare": round(delta.graph_requests / max(1, bare_requests), 2),
        "ratio_graph_operations_sync_to_bare": round(delta_seen_by_emulator / max(1, bare_requests), 2),
        "ratio_wall_sync_to_bare": round(delta_wall / max(bare_wall, 1e-6), 2),
        "members_deactivated": deactivated,
        "members_retitled": retitled,
        "setup_seconds": round(setup_seconds, 1),
    }, indent=2))


if __name__ == "__main__":
    main()
