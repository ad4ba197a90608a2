"""A URLconf laid out as another site might: the apps under their own prefixes, no membership.site_urls.

Use with ``override_settings(ROOT_URLCONF="tests.support.prefixed_urls")``.
"""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("staff/", admin.site.urls),
    path("microsoft/", include("membership.urls")),
    path("graph-api/", include("graphfns.urls")),
]
