import logging

from django.apps import AppConfig


class MembershipConfig(AppConfig):
    name = "membership"
    verbose_name = "Membership and Microsoft sign-in"
    default_auto_field = "django.db.models.BigAutoField"  # what the migrations were written with

    def ready(self) -> None:
        from membership import checks, signals  # noqa: F401  (registers the checks, connects the receivers)
        from membership.lib import task_messages

        quieten_library_logging()
        task_messages.install()


def quieten_library_logging() -> None:
    """msal logs token requests and responses (client secret, codes, tokens) at DEBUG, and urllib3
    the URLs it calls: WARNING unless the site's LOGGING gave them a level of their own above DEBUG,
    whatever level the root logger has (LOG_LEVEL=DEBUG must not print secrets)."""
    for name in ("msal", "urllib3"):
        logger = logging.getLogger(name)
        if logger.level <= logging.DEBUG:  # NOTSET (inherits the root's) or DEBUG
            logger.setLevel(logging.WARNING)
