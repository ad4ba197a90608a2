from django.apps import AppConfig


class GraphFunctionsConfig(AppConfig):
    name = "graphfns"
    verbose_name = "Microsoft Graph functions"
