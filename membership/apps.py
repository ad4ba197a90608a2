from django.apps import AppConfig


class MembershipConfig(AppConfig):
    name = "membership"
    verbose_name = "Membership and Microsoft sign-in"

    def ready(self) -> None:
        from membership import signals  # noqa: F401  (connects the receivers)
