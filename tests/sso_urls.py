"""The project's URLs with single sign-on mounted, as settings turn it on."""

from django.urls import include, path

from project.urls import handler400, handler404, handler500, urlpatterns

urlpatterns = [path("admin/", include("apis.sso.urls")), *urlpatterns]

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]
