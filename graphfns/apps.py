from django.apps import AppConfig


class GraphFunctionsConfig(AppConfig):
    name = "graphfns"
    verbose_name = "Microsoft Graph functions"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from graphfns.execution import forget_settings
        from membership.models import MicrosoftSettings

        post_save.connect(forget_settings, sender=MicrosoftSettings, dispatch_uid="graphfns-settings-memo")
        post_delete.connect(forget_settings, sender=MicrosoftSettings, dispatch_uid="graphfns-settings-memo-del")
