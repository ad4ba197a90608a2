from django.contrib import admin
from django.urls import include, path

from hostsite import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("microsoft/", include("membership.urls")),
    path("graph-api/", include("graphfns.urls")),
    path("people/", views.people, name="people"),
]
