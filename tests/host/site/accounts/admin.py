"""The site's own user admin, with the member's Microsoft accounts and directory roles (opt-in)."""

from django.contrib import admin

from accounts.models import User
from graphfns.admin import MemberGraphAdminMixin
from membership.admin import MicrosoftAccountInline


@admin.register(User)
class UserAdmin(MemberGraphAdminMixin, admin.ModelAdmin):
    list_display = ["email", "is_staff", "date_joined"]
    search_fields = ["email"]
    fields = ["email", "is_active", "is_staff", "is_superuser", "groups"]
    inlines = [MicrosoftAccountInline]
