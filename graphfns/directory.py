"""The directory sync: members follow Microsoft Entra (a users delta query as the application).

Why here and not in membership: the sync is Microsoft Graph calls made with the application token,
which graphfns owns (its client, retries, error catalog, app token cache); membership stays free of
Graph reading and offers what is done to a member (membership.directory: update the profile,
deactivate, reactivate; membership.roles: apply the role mappings). graphfns → membership, never
the reverse; graphfns also lends membership a ``DirectoryReader`` for the group names its admin shows.

A run reads ``/users/delta`` of the App tenant, from where the last one stopped:

* the first round returns every user; later rounds (from the stored deltaLink) only those changed;
* each page is handled, then its nextLink is saved: a run that fails half-way (Graph unavailable, a
  worker killed) leaves the nextLink of the page it did not finish, and the next run starts there —
  a page is handled again at most, never skipped, and handling one twice changes nothing more;
* no transaction is held across a Graph call: each member is brought up to date in its own short
  transaction, and a failure for one member counts as failed while the page goes on;
* a run stops starting pages after SYNC_BUDGET_SECONDS; the next run carries on from its nextLink.

For each user linked to a member by (tenant id, object id): names, e-mail and job title follow the
directory; ``accountEnabled`` false or ``@removed`` deactivates the member (tokens deleted, signal
sent); enabled or restored again reactivates them when the settings say so; and the role mappings
are applied again. App roles are read once per run from the app's service principal
(``appRoleAssignedTo``: users and groups assigned), group membership per member with
``checkMemberGroups`` (the mapped groups and the groups assigned app roles, 20 per call), sent 20
members to a ``$batch``. The users delta does not show a change of group membership or app role
assignment; so after each round, members whose directly assigned app roles differ from those last
recorded are brought up to date too. A change of group membership alone is applied at the member's
next sign-in or when the user changes in Entra. Directory roles are not read by the sync: their
mappings follow the ``wids`` of the member's last sign-in.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F
from django.utils import timezone

from graphfns.app_tokens import AppTokenCache
from graphfns.client import BATCH_LIMIT, GraphClient, graph_failure
from graphfns.conf import conf
from graphfns.errors import FunctionError
from graphfns.models import DirectorySync, DirectorySyncRun
from graphfns.resources import segment
from membership import directory, roles
from membership.lib.locks import LockTimeout, held
from membership.models import MicrosoftAccount, MicrosoftSettings, RoleMapping

log = logging.getLogger(__name__)

DELTA_SELECT = "id,accountEnabled,displayName,givenName,surname,mail,userPrincipalName,jobTitle"
SYNC_BUDGET_SECONDS = 240.0  # a run starts no page after this; the next run continues from the nextLink
CHECK_LIMIT = roles.CHECK_MEMBER_GROUPS_LIMIT
# Graph's answers to a delta or skip token it no longer knows: start the round again from scratch.
RESYNC_CODES = {"resyncRequired", "syncStateNotFound", "syncStateInvalid"}


class GraphDirectoryReader:
    """membership's window on the directory: names of groups, read as the application."""

    def group_name(self, group_id: str) -> str:
        ms = MicrosoftSettings.current()
        client = GraphClient(ms.graph_url, AppTokenCache(ms).token(), max_attempts=2, deadline=10)
        body = client.get(f"/groups/{segment(group_id)}", params={"$select": "id,displayName"})
        return str(body.get("displayName") or "")


@dataclass
class AppRoles:
    """Who holds which of the app's roles: users directly, and groups (whose members hold them too)."""

    of_user: dict[str, set[str]] = field(default_factory=dict)
    of_group: dict[str, set[str]] = field(default_factory=dict)

    @classmethod
    def read(cls, client: GraphClient, client_id: str) -> AppRoles:
        sp = client.get(f"/servicePrincipals(appId='{client_id}')", params={"$select": "id,appRoles"})
        values = {str(r["id"]): str(r.get("value") or "") for r in sp.get("appRoles", [])}
        roles = cls()
        for assignment in client.pages(f"/servicePrincipals/{sp['id']}/appRoleAssignedTo"):
            value = values.get(str(assignment.get("appRoleId")))
            if not value:
                continue  # the default access role (no value), or a role since removed
            held = roles.of_group if assignment.get("principalType") == "Group" else roles.of_user
            held.setdefault(str(assignment["principalId"]).lower(), set()).add(value)
        return roles

    def of_member(self, object_id: str, groups: set[str]) -> set[str]:
        """The roles of a user who is a (transitive) member of ``groups``."""
        held = set(self.of_user.get(object_id, set()))
        for group in groups & set(self.of_group):
            held |= self.of_group[group]
        return held


@dataclass
class Mappings:
    """What the role mappings ask the sync to read."""

    app_roles: bool
    group_ids: list[str]

    @classmethod
    def current(cls) -> Mappings:
        sources = set(RoleMapping.objects.values_list("source", flat=True))
        return cls(RoleMapping.Source.APP_ROLE in sources, roles.mapped_group_ids())

    @property
    def any(self) -> bool:
        return self.app_roles or bool(self.group_ids)


class SyncRun:
    def __init__(self, ms: MicrosoftSettings, run: DirectorySyncRun, client: GraphClient) -> None:
        self.ms = ms
        self.run = run
        self.client = client
        self.mappings = Mappings.current()
        self._app_roles: AppRoles | None = None
        self.handled: set[int] = set()  # accounts whose mappings this run applied already

    @property
    def app_roles(self) -> AppRoles:
        if self._app_roles is None:
            self._app_roles = AppRoles.read(self.client, self.ms.client_id)
        return self._app_roles

    def handle_page(self, users: list[dict[str, Any]]) -> dict[str, int]:
        counts = {"seen": len(users), "members": 0, "updated": 0, "deactivated": 0, "reactivated": 0, "failed": 0}
        by_oid = {str(u.get("id", "")).lower(): u for u in users if u.get("id")}
        accounts = MicrosoftAccount.objects.filter(tenant_id=self.run.tenant_id, object_id__in=list(by_oid))
        to_map: list[MicrosoftAccount] = []
        updated: set[int] = set()
        for account in accounts.select_related("user"):
            counts["members"] += 1
            try:
                outcome = self.handle_member(account, by_oid[account.object_id])
            except Exception:
                log.exception("Directory sync: bringing member %s up to date failed", account.user_id)
                counts["failed"] += 1
                continue
            if outcome in counts:
                counts[outcome] += 1
            if outcome == "updated":
                updated.add(account.pk)
            if outcome in ("updated", "unchanged", "reactivated") and self.mappings.any:
                to_map.append(account)
        self.apply_in_batches(to_map, counts, updated)
        return counts

    def apply_in_batches(self, to_map: list[MicrosoftAccount], counts: dict[str, int],
                         updated: set[int] | None = None) -> None:
        """Apply the role mappings to these members, 20 to a $batch; a member is counted updated once."""
        updated = set() if updated is None else updated
        self.handled |= {a.pk for a in to_map}
        # A group of members per $batch request (the client splits it further when a member needs
        # several checkMemberGroups calls): a failed request costs only its own group.
        for start in range(0, len(to_map), BATCH_LIMIT):
            chunk = to_map[start:start + BATCH_LIMIT]
            try:
                changed, failed = self.apply_mappings(chunk)
            except FunctionError as exc:
                log.warning("Directory sync: reading %d members' groups failed (%s)", len(chunk), exc.code)
                counts["failed"] += len(chunk)
                continue
            counts["failed"] += failed
            counts["updated"] += len(changed - updated)
            updated |= changed

    def reconcile_app_roles(self) -> dict[str, int]:
        """Members whose app roles changed without a change to the user (the users delta does not show
        assignments): those whose directly assigned roles differ from what was last recorded for them."""
        counts = {"updated": 0, "failed": 0}
        if not self.mappings.app_roles:
            return counts
        assigned = self.app_roles.of_user
        accounts = (MicrosoftAccount.objects.filter(tenant_id=self.run.tenant_id, user__is_active=True)
                    .exclude(pk__in=self.handled).select_related("user"))
        through_groups = set().union(*self.app_roles.of_group.values())

        def stale(account: MicrosoftAccount) -> bool:
            # Gained a direct assignment, or lost a role no group could give (group-given roles follow group
            # membership: the next sign-in or user change).
            known, direct = set(account.directory.get("roles") or []), assigned.get(account.object_id, set())
            return bool(direct - known) or bool(known - direct - through_groups)

        outdated = [a for a in accounts if stale(a)]
        self.apply_in_batches(outdated, counts)
        return counts

    def handle_member(self, account: MicrosoftAccount, user: dict[str, Any]) -> str:
        """"deactivated", "reactivated", "updated", "unchanged" or "inactive" (left alone)."""
        if "@removed" in user:
            return "deactivated" if directory.deactivate(account, MicrosoftAccount.Left.DELETED) else "inactive"
        if user.get("accountEnabled") is False:
            return "deactivated" if directory.deactivate(account, MicrosoftAccount.Left.DISABLED) else "inactive"
        outcome = "unchanged"
        if account.left_directory and (user.get("accountEnabled") is True
                                       or account.left_directory == MicrosoftAccount.Left.DELETED):
            if not directory.reactivate(account):
                return "inactive"
            outcome = "reactivated"
        elif not account.user.is_active:
            return "inactive"
        if directory.update_profile(account, user) and outcome == "unchanged":
            outcome = "updated"
        return outcome

    def apply_mappings(self, accounts: list[MicrosoftAccount]) -> tuple[set[int], int]:
        """Apply the role mappings to up to 20 members: one $batch of checkMemberGroups. (changed pks, failed)."""
        role_groups = set(self.app_roles.of_group) if self.mappings.app_roles else set()
        ask = sorted(set(self.mappings.group_ids) | role_groups)
        chunks = [ask[i:i + CHECK_LIMIT] for i in range(0, len(ask), CHECK_LIMIT)]
        requests = [{"id": f"{n}.{c}", "method": "POST", "url": f"/users/{a.object_id}/checkMemberGroups",
                     "body": {"groupIds": chunk}}
                    for n, a in enumerate(accounts) for c, chunk in enumerate(chunks)]
        answers = {str(r["id"]): r for r in self.client.batch(requests)} if requests else {}
        changed: set[int] = set()
        failed = 0
        for n, account in enumerate(accounts):
            held: set[str] = set()
            problem = ""
            for c in range(len(chunks)):
                answer = answers[f"{n}.{c}"]
                if answer.get("status", 500) >= 400:
                    problem = graph_failure(answer.get("status", 500), answer.get("body")).code
                    break
                held |= {str(g).lower() for g in (answer.get("body") or {}).get("value", [])}
            if problem:
                log.warning("Directory sync: member %s's groups could not be read (%s)", account.user_id, problem)
                failed += 1
                continue
            app_roles = self.app_roles.of_member(account.object_id, held) if self.mappings.app_roles else None
            sources = roles.EntraSources(
                frozenset(app_roles) if app_roles is not None else None,
                frozenset(held & set(self.mappings.group_ids)) if self.mappings.group_ids else None,
                None,
            )
            try:
                if not roles.apply(account, sources).empty:
                    changed.add(account.pk)
            except Exception:
                log.exception("Directory sync: applying role mappings to member %s failed", account.user_id)
                failed += 1
        return changed, failed


def _record(run: DirectorySyncRun, counts: dict[str, int]) -> None:
    DirectorySyncRun.objects.filter(pk=run.pk).update(pages=F("pages") + 1,
                                                      **{k: F(k) + v for k, v in counts.items()})


def sync_directory(*, budget: float = SYNC_BUDGET_SECONDS) -> DirectorySyncRun:
    """One run of the directory sync of the App tenant (see the module's docstring); its record."""
    ms = MicrosoftSettings.current()
    run = DirectorySyncRun.objects.create(tenant_id=ms.app_tenant_id)
    lock_ttl = budget + 4 * conf.MICROSOFT_GRAPH_DEADLINE + 60
    client: GraphClient | None = None
    try:
        if not ms.enabled:
            raise FunctionError("MicrosoftAuthDisabled")
        if not ms.app_tenant_id:
            raise FunctionError("TenantNotFound", "No App tenant ID is set: the directory sync reads that tenant. "
                                "Enter the Directory (tenant) ID in the Microsoft settings.")
        with held(f"directory-sync:{ms.app_tenant_id}", timeout=lock_ttl, wait=0):
            client = GraphClient(ms.graph_url, AppTokenCache(ms).token())
            _run(ms, run, client, budget)
    except LockTimeout:
        run.note = "Another directory sync run was in progress; this one did nothing."
    except FunctionError as exc:
        run.error_code = exc.code
        run.note = exc.message[:500]
        log.warning("Directory sync stopped: %s", exc.code)
    finally:
        run.refresh_from_db(fields=["pages", "seen", "members", "updated", "deactivated", "reactivated", "failed",
                                    "complete"])
        run.finished_at = timezone.now()
        run.graph_requests = client.stats.requests if client else 0
        run.save(update_fields=["finished_at", "graph_requests", "error_code", "note"])
    return run


def _run(ms: MicrosoftSettings, run: DirectorySyncRun, client: GraphClient, budget: float) -> None:
    state, _ = DirectorySync.objects.get_or_create(tenant_id=ms.app_tenant_id)
    sync = SyncRun(ms, run, client)
    started = time.monotonic()
    url = state.next_link or state.delta_link
    params = None if url else {"$select": DELTA_SELECT}
    url = url or "/users/delta"
    restarted = False
    while True:
        if not url.startswith(("/", client.base + "/")):  # the app token goes only to the Graph URL set
            raise FunctionError("GraphError", "Microsoft Graph returned a delta link to another host; the sync "
                                "state was kept. Check the Graph URL in the Microsoft settings.")
        try:
            body = client.request("GET", url, params=params).body or {}
        except FunctionError as exc:
            if restarted or exc.details.get("graph_code") not in RESYNC_CODES:
                raise
            # Graph no longer knows the delta token (expired, or the tenant's state reset): a full round again.
            log.warning("Directory sync: Graph asked for a full resync (%s)", exc.details.get("graph_code"))
            DirectorySync.objects.filter(pk=state.pk).update(next_link="", delta_link="")
            restarted, url, params = True, "/users/delta", {"$select": DELTA_SELECT}
            continue
        params = None
        _record(run, sync.handle_page(list(body.get("value", []))))
        next_link, delta_link = body.get("@odata.nextLink"), body.get("@odata.deltaLink")
        if next_link:
            DirectorySync.objects.filter(pk=state.pk).update(next_link=next_link, updated_at=timezone.now())
        else:
            DirectorySync.objects.filter(pk=state.pk).update(
                next_link="", delta_link=delta_link or state.delta_link, rounds=F("rounds") + 1,
                updated_at=timezone.now())
            counts = sync.reconcile_app_roles()
            DirectorySyncRun.objects.filter(pk=run.pk).update(
                complete=True, updated=F("updated") + counts["updated"], failed=F("failed") + counts["failed"])
            return
        if time.monotonic() - started > budget:
            run.note = "Stopped after its time budget; the next run continues from the last page."
            return
        url = next_link
