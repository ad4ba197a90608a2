from django.apps import AppConfig


class GraphFunctionsConfig(AppConfig):
    name = "graphfns"
    verbose_name = "Microsoft Graph functions"
    default_auto_field = "django.db.models.BigAutoField"  # what the migrations were written with

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from graphfns import checks  # noqa: F401  (registers the system checks)
        from graphfns.models import ApiKey, forget_api_keys

        post_save.connect(forget_api_keys, sender=ApiKey, dispatch_uid="graphfns-api-key-memo")
        post_delete.connect(forget_api_keys, sender=ApiKey, dispatch_uid="graphfns-api-key-memo-del")
