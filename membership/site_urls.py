"""The member-facing pages, for a site that has none of its own: include them where you like, e.g.
``path("", include("membership.site_urls"))``. Nothing else depends on them: without them, set
LOGIN_URL to your sign-in page and MEMBERSHIP_ACCOUNT_URL (or LOGIN_REDIRECT_URL) to your account page.
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from membership import views

app_name = "membership_site"
urlpatterns = [
    path("", views.home, name="home"),
    path("signin/", views.signin, name="signin"),
    path("signin/password/", auth_views.LoginView.as_view(template_name="membership/password_login.html"),
         name="password_login"),
    path("account/", views.account, name="account"),
]
