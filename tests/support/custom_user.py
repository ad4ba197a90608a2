"""An e-mail-only user model, as a site might have (no username, no first or last name, no groups).

It belongs to no installed app: a test makes its table with ``email_user_table()`` and hands the class
to ``MemberAdapter(user_model=EmailUser)``; the suite's AUTH_USER_MODEL stays auth.User.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib.auth.base_user import AbstractBaseUser
from django.db import connection, models


class EmailUser(AbstractBaseUser):
    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=40, blank=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    class Meta:
        app_label = "custom_user_tests"


@contextmanager
def email_user_table() -> Iterator[type[EmailUser]]:
    with connection.schema_editor() as editor:
        editor.create_model(EmailUser)
    try:
        yield EmailUser
    finally:
        with connection.schema_editor() as editor:
            editor.delete_model(EmailUser)
