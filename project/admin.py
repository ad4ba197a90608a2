"""The reference site's user admin: Django's, with the member's Microsoft accounts (membership) and
their Entra directory roles (graphfns). A site adds these to its own user admin the same way."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from graphfns.admin import MemberGraphAdminMixin
from membership.admin import MicrosoftAccountInline

User = get_user_model()


class MemberAdmin(MemberGraphAdminMixin, UserAdmin):  # type: ignore[type-arg]
    inlines = [*UserAdmin.inlines, MicrosoftAccountInline]


admin.site.unregister(User)
admin.site.register(User, MemberAdmin)
