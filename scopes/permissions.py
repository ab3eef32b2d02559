"""DRF permissions that require scopes of the access token."""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission

from scopes.authentication import TokenPrincipal
from scopes.conf import scopes_settings
from scopes.exceptions import InsufficientScope


def required_scopes_for(view, method):
    """
    Return the scopes that `view.required_scopes` asks of an HTTP `method`.

    `required_scopes` is a list (every method) or a mapping from method to
    list. HEAD falls back to GET. A method missing from a mapping returns
    None, which denies it.
    """
    required = getattr(view, "required_scopes", None)
    if required is None:
        raise ImproperlyConfigured(
            f"{type(view).__name__} uses TokenHasScopes but sets no required_scopes."
        )
    if isinstance(required, str):
        raise ImproperlyConfigured(
            f"{type(view).__name__}.required_scopes must be a list, not a string."
        )
    if isinstance(required, dict):
        method = method.upper()
        if method not in required and method == "HEAD":
            method = "GET"
        return required.get(method)
    return list(required)


class TokenHasScopes(BasePermission):
    """
    Allow a request whose access token carries every scope the view requires.

    Without a valid token DRF answers 401; with a token that lacks a scope this
    answers 403 `insufficient_scope` with the RFC 6750 challenge.
    """

    def has_permission(self, request, view):
        principal = request.auth
        if not isinstance(principal, TokenPrincipal):
            return False

        required = required_scopes_for(view, request.method)
        if required is None and not hasattr(view, request.method.lower()):
            return True  # The view answers 405 Method Not Allowed.
        if required is None:
            raise InsufficientScope(
                [],
                [],
                scopes_settings.REALM,
                detail=f"No scope grants {request.method} on this endpoint.",
            )
        missing = [scope for scope in required if scope not in principal.scopes]
        if missing:
            raise InsufficientScope(required, missing, scopes_settings.REALM)
        return True
