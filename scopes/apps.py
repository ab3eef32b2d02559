from importlib.util import find_spec

from django.apps import AppConfig


class ScopesConfig(AppConfig):
    name = "scopes"
    verbose_name = "Scopes"

    def ready(self):
        if find_spec("drf_spectacular") is not None:
            # Registers the OpenAPI extension of BearerTokenAuthentication.
            import scopes.openapi  # noqa: F401
