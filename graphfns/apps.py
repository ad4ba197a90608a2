from importlib import import_module

from django.apps import AppConfig

# The modules whose @function(...) handlers make up the registry (imported once the apps are ready).
FUNCTION_FAMILIES = ("graphfns.users", "graphfns.calendar")


class GraphFunctionsConfig(AppConfig):
    name = "graphfns"
    verbose_name = "Microsoft Graph functions"
    default_auto_field = "django.db.models.BigAutoField"  # what the migrations were written with

    def ready(self) -> None:
        for module in FUNCTION_FAMILIES:
            import_module(module)
        from django.db.models.signals import post_delete, post_save

        from graphfns import checks  # noqa: F401  (registers the system checks)
        from graphfns.directory import GraphDirectoryReader
        from graphfns.models import ApiKey, forget_api_keys
        from membership.directory import use_reader

        use_reader(GraphDirectoryReader())  # the role mapping admin's group names

        post_save.connect(forget_api_keys, sender=ApiKey, dispatch_uid="graphfns-api-key-memo")
        post_delete.connect(forget_api_keys, sender=ApiKey, dispatch_uid="graphfns-api-key-memo-del")
