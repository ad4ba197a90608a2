from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Membership administration"
admin.site.site_title = "Membership"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("graphfns.urls")),
    path("", include("membership.urls")),
]
