"""MemberAdapter: members are created through USERNAME_FIELD with only the fields the user model has,
and a site changes how members are named or linked by subclassing it (MEMBERSHIP_ADAPTER)."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User
from django.test import override_settings

from membership.accounts import link_member
from membership.adapter import MemberAdapter, get_adapter
from membership.failures import SignInFailure
from membership.models import MicrosoftSettings
from tests.support.custom_user import email_user_table

CLAIMS = {"tid": "T", "oid": "O1", "preferred_username": "megan@contoso.test", "name": "Megan Bowen",
          "given_name": "Megan", "family_name": "Bowen", "email": "Megan.Bowen@contoso.test"}


def test_auth_user_members_get_username_names_and_email(db: None) -> None:
    user = MemberAdapter().new_user(CLAIMS)
    assert (user.username, user.first_name, user.last_name, user.email) == (
        "megan@contoso.test", "Megan", "Bowen", "Megan.Bowen@contoso.test")
    assert not user.has_usable_password()
    again = MemberAdapter().new_user({**CLAIMS, "oid": "O2"})
    assert again.username == "megan@contoso.test-2"  # usernames stay unique


def test_an_email_only_user_model_is_created_through_its_username_field(transactional_db: None) -> None:
    with email_user_table() as EmailUser:
        adapter = MemberAdapter(user_model=EmailUser)
        assert adapter.named_by_email() and adapter.field("first_name") is None
        user = adapter.new_user(CLAIMS)
        stored = EmailUser.objects.get(pk=user.pk)
        assert stored.email == "Megan.Bowen@contoso.test" and not stored.has_usable_password()
        # A second identity with the same address does not take the member over, nor crash.
        with pytest.raises(SignInFailure) as taken:
            adapter.new_user({**CLAIMS, "oid": "O2"})
        assert taken.value.code == "member_exists"
        with pytest.raises(SignInFailure) as no_address:
            adapter.new_user({"tid": "T", "oid": "O3", "preferred_username": "not-an-address"})
        assert no_address.value.code == "email_missing"


def test_the_email_follows_microsoft_unless_the_member_chose_another(db: None) -> None:
    adapter = MemberAdapter()
    user = adapter.new_user(CLAIMS)
    moved = {**CLAIMS, "email": "megan@fabrikam.test"}
    assert adapter.populate_user(user, moved, previous_email="Megan.Bowen@contoso.test") == ["email"]
    assert user.email == "megan@fabrikam.test" and user.first_name == "Megan"
    user.email = "megan@home.test"  # changed on this site
    assert adapter.populate_user(user, CLAIMS, previous_email="megan@fabrikam.test") == []
    assert user.email == "megan@home.test"


class ByEmail(MemberAdapter):
    """A site that joins a first Microsoft sign-in to the member with that address, named by oid."""

    def existing_user(self, claims: dict[str, Any]) -> Any:
        return User.objects.filter(email__iexact=claims.get("email", "")).first()

    def username_for(self, claims: dict[str, Any]) -> str:
        return f"ms-{claims['oid'].lower()}"


@override_settings(MEMBERSHIP_ADAPTER="tests.membership.test_adapter.ByEmail")
def test_a_site_adapter_changes_how_members_are_linked_and_named(db: None) -> None:
    assert isinstance(get_adapter(), ByEmail)
    ms = MicrosoftSettings.current()
    pat = User.objects.create_user("pat", email="pat@contoso.test")
    joined = link_member({**CLAIMS, "oid": "O5", "email": "PAT@contoso.test"}, ms=ms, mode=None)
    assert joined.user == pat
    made = link_member(CLAIMS, ms=ms, mode=None)
    assert made.user.username == "ms-o1"


def test_a_new_member_gets_the_default_role_when_the_model_has_groups(db: None) -> None:
    role = Group.objects.create(name="Members")
    ms = MicrosoftSettings.current()
    ms.default_role = role
    account = link_member(CLAIMS, ms=ms, mode=None)
    assert list(account.user.groups.all()) == [role]
