"""Microsoft sign-in endpoints: include under any prefix, e.g. ``path("microsoft/", include("membership.urls"))``.

Register ``<prefix>callback/`` as the app registration's Redirect URI (the admin's Microsoft settings
page shows the exact URL). The site's own pages (home, sign-in, password sign-in, account) are in
``membership.site_urls``, for a site that wants them.
"""

from django.urls import path

from membership import views

app_name = "membership"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("callback/", views.callback, name="callback"),
    path("logout/", views.logout_view, name="logout"),
    path("consent/", views.consent, name="consent"),
    path("admin-consent/", views.admin_consent, name="admin_consent"),
    path("accounts/<int:pk>/disconnect/", views.disconnect_view, name="disconnect"),
]
