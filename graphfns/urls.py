from django.urls import path, re_path

from graphfns import api

app_name = "graphfns"
urlpatterns = [
    path("functions/", api.function_list, name="functions"),
    path("functions/<str:name>/", api.function_detail, name="function"),
    path("functions/<str:name>/execute", api.function_execute, name="execute"),
    path("openapi.json", api.openapi, name="openapi"),
    path("tasks/<str:task_id>", api.task_status, name="task"),
    path("settings/cache/aad", api.clear_cache, name="clear-cache"),
    # Anything else under the API answers in JSON too, never with an HTML page.
    re_path(r"^(?P<path>.*)$", api.not_found),
]
