from django.contrib import admin
from django.urls import include, path

from project import admin as site_admin  # noqa: F401  (registers the site's user admin)
from project import health, metrics

admin.site.site_header = "Membership administration"
admin.site.site_title = "Membership"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/", include("graphfns.urls")),
    path("auth/microsoft/", include("membership.urls")),
    path("", include("membership.site_urls")),
]
