"""Single sign-on pages, mounted under admin/ ahead of the admin's own."""

from django.urls import path

from . import views

urlpatterns = [
    path("login/", views.login, name="sso-admin-login"),
    path("logout/", views.LogoutView.as_view(), name="sso-logout"),
    path("sso/login/", views.LoginStartView.as_view(), name="sso-login"),
    path("sso/callback/", views.CallbackView.as_view(), name="sso-callback"),
]
