from django.urls import path, re_path

from apis import views

app_name = "apis"

urlpatterns = [
    # With and without the trailing slash, and no redirect: a redirected POST
    # loses its body in many clients.
    re_path(r"^oauth/token/?$", views.TokenView.as_view(), name="token"),
    path(".well-known/jwks.json", views.jwks, name="jwks"),
    path(
        ".well-known/oauth-authorization-server",
        views.server_metadata,
        name="oauth-authorization-server",
    ),
    path(
        ".well-known/openid-configuration",
        views.server_metadata,
        name="openid-configuration",
    ),
]
