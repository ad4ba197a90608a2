"""Role mapping: what a member holds in Entra decides their mapped Django groups and flags.

Entra reports three kinds of source: app role values (the id_token's ``roles``), group object ids
(``groups``) and directory role template ids (``wids``). ``EntraSources`` holds what is known of
each kind. A kind not read this time (``None``: the groups of an overage token when Graph did not
answer; directory roles during a sync) is taken from what Entra said last, kept on the account
(``MicrosoftAccount.directory``); a kind never known decides nothing: the groups and flags only its
mappings give are neither added nor taken away, so an outage never strips anyone's access.

The rules, applied at every sign-in (``apply_at_sign_in``) and by the directory sync:

* a group named by a mapping whose source the member holds is added; a group named by mappings
  only, none of them held, is taken away; groups no mapping names are left alone;
* the group the member was given at creation (the sign-in mode's role, else the default role)
  is never taken away by a mapping;
* ``is_staff`` / ``is_superuser`` granted by a mapping are recorded on the Microsoft account
  (``flags_from_mapping``) and taken away only when so recorded: a flag an administrator set by
  hand stays.

When the id_token carries the groups overage indicator (more groups than fit in a token), the
member's groups are read with their fresh access token through ``/me/checkMemberGroups``, asking
only about the mapped group ids, 20 per call (User.Read is enough for one's own groups).
Membership keeps this one Graph call of its own so it works without graphfns; the directory sync,
which reads as the application, lives in graphfns (graphfns.directory) and hands its findings to
``apply`` here.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import requests
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from membership.lib.endpoints import check_graph
from membership.lib.http import microsoft_session
from membership.models import MicrosoftAccount, MicrosoftSettings, RoleMapping, SignInMode

log = logging.getLogger(__name__)

CHECK_MEMBER_GROUPS_LIMIT = 20  # Graph's limit of group ids per checkMemberGroups call
FLAGS = ("is_staff", "is_superuser")


@dataclass(frozen=True)
class EntraSources:
    """What a member holds in Entra, per kind of source; None: that kind is not known."""

    app_roles: frozenset[str] | None = None
    groups: frozenset[str] | None = None
    directory_roles: frozenset[str] | None = None

    def of(self, source: str) -> frozenset[str] | None:
        return {RoleMapping.Source.APP_ROLE: self.app_roles, RoleMapping.Source.GROUP: self.groups,
                RoleMapping.Source.DIRECTORY_ROLE: self.directory_roles}[RoleMapping.Source(source)]

    def holds(self, mapping: RoleMapping) -> bool | None:
        held = self.of(mapping.source)
        return None if held is None else mapping.value in held

    def merged(self, newer: EntraSources) -> EntraSources:
        """These sources with every kind ``newer`` knows replaced by its."""
        return EntraSources(
            newer.app_roles if newer.app_roles is not None else self.app_roles,
            newer.groups if newer.groups is not None else self.groups,
            newer.directory_roles if newer.directory_roles is not None else self.directory_roles,
        )

    def as_json(self) -> dict[str, Any]:
        kinds = {"roles": self.app_roles, "groups": self.groups, "wids": self.directory_roles}
        stored: dict[str, Any] = {k: sorted(v) for k, v in kinds.items() if v is not None}
        stored["seen_at"] = timezone.now().isoformat()
        return stored

    @classmethod
    def from_json(cls, stored: dict[str, Any]) -> EntraSources:
        def kind(name: str) -> frozenset[str] | None:
            return frozenset(stored[name]) if isinstance(stored.get(name), list) else None

        return cls(kind("roles"), kind("groups"), kind("wids"))


def has_groups_overage(claims: dict[str, Any]) -> bool:
    """Entra left the groups out of the token: too many (``_claim_names``), or ``hasgroups`` (implicit flow)."""
    names = claims.get("_claim_names")
    return (isinstance(names, dict) and "groups" in names) or bool(claims.get("hasgroups"))


def sources_from_claims(claims: dict[str, Any]) -> EntraSources:
    """The sources a validated id_token states. Entra leaves a claim out when it is empty, so a missing
    ``roles`` or ``wids`` means none; a missing ``groups`` with the overage indicator means unknown."""

    def strings(name: str, lower: bool) -> frozenset[str]:
        value = claims.get(name) or []
        items = value if isinstance(value, list) else [value]
        return frozenset(str(v).lower() if lower else str(v) for v in items)

    groups = None if has_groups_overage(claims) else strings("groups", True)
    return EntraSources(strings("roles", False), groups, strings("wids", True))


@dataclass
class RoleChange:
    """What applying the mappings changes (or would change) for one member."""

    add: list[Group] = field(default_factory=list)
    remove: list[Group] = field(default_factory=list)
    grant: list[str] = field(default_factory=list)
    revoke: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.add or self.remove or self.grant or self.revoke)

    def describe(self) -> str:
        parts = []
        if self.add:
            parts.append("adds " + ", ".join(g.name for g in self.add))
        if self.remove:
            parts.append("removes " + ", ".join(g.name for g in self.remove))
        if self.grant:
            parts.append("grants " + ", ".join(self.grant))
        if self.revoke:
            parts.append("takes away " + ", ".join(self.revoke))
        return "; ".join(parts) or "no change"


def _creation_role(account: MicrosoftAccount) -> int | None:
    mode = SignInMode.objects.filter(name=account.mode).select_related("role").first() if account.mode else None
    role = (mode.role if mode else None) or MicrosoftSettings.current().default_role
    return role.pk if role else None


def plan(account: MicrosoftAccount, sources: EntraSources, mappings: list[RoleMapping] | None = None) -> RoleChange:
    """What the mappings would change for the account's member, given their sources (changes nothing)."""
    if mappings is None:
        mappings = list(RoleMapping.objects.prefetch_related("groups"))
    wanted: dict[int, Group] = {}
    undecided: set[int] = set()
    mapped: dict[int, Group] = {}
    wanted_flags: set[str] = set()
    undecided_flags: set[str] = set()
    for mapping in mappings:
        holds = sources.holds(mapping)
        flags = {f for f, on in (("is_staff", mapping.grants_staff), ("is_superuser", mapping.grants_superuser)) if on}
        for group in mapping.groups.all():
            mapped[group.pk] = group
            if holds:
                wanted[group.pk] = group
            elif holds is None:
                undecided.add(group.pk)
        if holds:
            wanted_flags |= flags
        elif holds is None:
            undecided_flags |= flags
    user = account.user
    current = set(user.groups.values_list("pk", flat=True))
    keep = undecided | {pk for pk in [_creation_role(account)] if pk is not None}
    change = RoleChange(
        add=[g for pk, g in wanted.items() if pk not in current],
        remove=[g for pk, g in mapped.items() if pk in current and pk not in wanted and pk not in keep],
        grant=[f for f in FLAGS if f in wanted_flags and not getattr(user, f)],
        revoke=[f for f in FLAGS if f in account.flags_from_mapping and getattr(user, f)
                and f not in wanted_flags and f not in undecided_flags],
    )
    change.add.sort(key=lambda g: g.name)
    change.remove.sort(key=lambda g: g.name)
    return change


def apply(account: MicrosoftAccount, sources: EntraSources) -> RoleChange:
    """Record the sources on the account and apply the mappings to its member, in one short transaction."""
    mappings = list(RoleMapping.objects.prefetch_related("groups"))
    with transaction.atomic():
        account = MicrosoftAccount.objects.select_for_update().select_related("user").get(pk=account.pk)
        known = EntraSources.from_json(account.directory).merged(sources)
        change = plan(account, known, mappings)
        user = account.user
        if change.add:
            user.groups.add(*change.add)
        if change.remove:
            user.groups.remove(*change.remove)
        recorded = set(account.flags_from_mapping)
        for flag in change.grant:
            setattr(user, flag, True)
            recorded.add(flag)
        for flag in change.revoke:
            setattr(user, flag, False)
            recorded.discard(flag)
        if change.grant or change.revoke:
            user.save(update_fields=[*change.grant, *change.revoke])
        account.directory = {**known.as_json()}
        account.flags_from_mapping = sorted(recorded)
        account.save(update_fields=["directory", "flags_from_mapping", "updated_at"])
    if not change.empty:
        log.info("Role mapping for member %s: %s", account.user_id, change.describe())
    return change


def preview(account: MicrosoftAccount) -> RoleChange:
    """What applying the mappings now would change, from what Entra said last (nothing is changed)."""
    return plan(account, EntraSources.from_json(account.directory))


def mapped_group_ids() -> list[str]:
    return sorted(RoleMapping.objects.filter(source=RoleMapping.Source.GROUP).values_list("value", flat=True))


def member_groups(ms: MicrosoftSettings, access_token: str, group_ids: list[str]) -> frozenset[str]:
    """Which of ``group_ids`` the signed-in member is a transitive member of (``/me/checkMemberGroups``)."""
    check_graph(ms.graph_url)  # the member's token goes only to a Microsoft cloud (or an allowed host)
    held: set[str] = set()
    session = microsoft_session()
    url = ms.graph_url.rstrip("/") + "/v1.0/me/checkMemberGroups"
    for start in range(0, len(group_ids), CHECK_MEMBER_GROUPS_LIMIT):
        response = session.post(url, json={"groupIds": group_ids[start:start + CHECK_MEMBER_GROUPS_LIMIT]},
                                headers={"Authorization": f"Bearer {access_token}"})
        response.raise_for_status()
        held |= {str(g).lower() for g in response.json().get("value", [])}
    return frozenset(held)


def apply_at_sign_in(account: MicrosoftAccount, claims: dict[str, Any], access_token: str) -> RoleChange | None:
    """Apply the mappings from a validated id_token (reading the groups through Graph on overage).

    Never fails the sign-in: when the groups cannot be read, they are taken from what Entra said
    last (logged); any other failure is logged and the member signs in with what they had."""
    try:
        sources = sources_from_claims(claims)
        if sources.groups is None:
            wanted = mapped_group_ids()
            if not wanted:
                sources = EntraSources(sources.app_roles, frozenset(), sources.directory_roles)
            elif access_token:
                try:
                    held = member_groups(MicrosoftSettings.current(), access_token, wanted)
                    sources = EntraSources(sources.app_roles, held, sources.directory_roles)
                except (requests.RequestException, ValueError) as exc:  # EndpointNotAllowed is a ValueError
                    log.warning("Groups overage for member %s: reading their groups failed (%s); group mappings "
                                "left as they were", account.user_id, type(exc).__name__)
        return apply(account, sources)
    except Exception:
        log.exception("Applying role mappings at sign-in failed for member %s", account.user_id)
        return None
