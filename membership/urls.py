from django.contrib.auth import views as auth_views
from django.urls import path

from membership import views

app_name = "membership"
urlpatterns = [
    path("", views.home, name="home"),
    path("signin/", views.signin, name="signin"),
    path("signin/password/", auth_views.LoginView.as_view(template_name="membership/password_login.html"),
         name="password_login"),
    path("account/", views.account, name="account"),
    path("account/microsoft/<int:pk>/disconnect/", views.disconnect_view, name="disconnect"),
    path("auth/microsoft/login/", views.login_view, name="login"),
    path("auth/microsoft/callback/", views.callback, name="callback"),
    path("auth/microsoft/logout/", views.logout_view, name="logout"),
    path("auth/microsoft/consent/", views.consent, name="consent"),
    path("auth/microsoft/admin-consent/", views.admin_consent, name="admin_consent"),
]
