from django.contrib import admin
from django.urls import include, path

from project import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", include("ping.urls")),
    path("", include("apis.urls")),
]

handler404 = views.not_found
handler500 = views.server_error
