from django.urls import path

from ping import views

app_name = "ping"

urlpatterns = [
    path("ping", views.PingView.as_view(), name="ping"),
    path("ping/secure", views.SecurePingView.as_view(), name="ping-secure"),
    path("messages", views.MessageListView.as_view(), name="messages"),
    path("claims", views.ClaimsView.as_view(), name="claims"),
    path("public", views.PublicView.as_view(), name="public"),
    path("private", views.PrivateView.as_view(), name="private"),
    path("private-scoped", views.PrivateScopedView.as_view(), name="private-scoped"),
]
