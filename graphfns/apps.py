from django.apps import AppConfig


class GraphFunctionsConfig(AppConfig):
    name = "graphfns"
    verbose_name = "Microsoft Graph functions"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from graphfns.execution import forget_settings
        from graphfns.models import ApiKey, forget_api_keys
        from membership.models import MicrosoftSettings

        post_save.connect(forget_settings, sender=MicrosoftSettings, dispatch_uid="graphfns-settings-memo")
        post_delete.connect(forget_settings, sender=MicrosoftSettings, dispatch_uid="graphfns-settings-memo-del")
        post_save.connect(forget_api_keys, sender=ApiKey, dispatch_uid="graphfns-api-key-memo")
        post_delete.connect(forget_api_keys, sender=ApiKey, dispatch_uid="graphfns-api-key-memo-del")
