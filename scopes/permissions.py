"""DRF permissions that require scopes of the access token."""

from django.core.exceptions import ImproperlyConfigured
from rest_framework.permissions import BasePermission

from scopes.authentication import TokenPrincipal
from scopes.conf import scopes_settings
from scopes.exceptions import InsufficientScope


class AnyOf:
    """
    Alternative scope requirements: a token passes with any one of them.

    Each alternative is a scope, or a list of scopes that are all needed:
    `AnyOf("admin", ["read:messages", "read:users"])`.
    """

    def __init__(self, *alternatives):
        if not alternatives:
            raise ImproperlyConfigured("AnyOf needs at least one alternative.")
        self.alternatives = tuple(_as_scope_set(item) for item in alternatives)

    def __repr__(self):
        return f"AnyOf{self.alternatives!r}"


def _as_scope_set(value):
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ImproperlyConfigured(
        f"A scope requirement must be a scope or a list of scopes, not {value!r}."
    )


def _as_alternatives(requirement, view):
    if isinstance(requirement, AnyOf):
        return requirement.alternatives
    if isinstance(requirement, str):
        raise ImproperlyConfigured(
            f"{type(view).__name__}.required_scopes must be a list, not a string."
        )
    return (_as_scope_set(list(requirement)),)


def required_scopes_for(view, method):
    """
    Return the scope sets that `view.required_scopes` accepts for `method`.

    The result is a tuple of alternatives, each a tuple of scopes that are all
    needed. `required_scopes` is a list (all of its scopes), an `AnyOf`, or a
    mapping from HTTP method to either. HEAD falls back to GET, and OPTIONS,
    which only describes the endpoint, needs no scope unless it is listed. Any
    other method missing from a mapping returns None.
    """
    required = getattr(view, "required_scopes", None)
    if required is None:
        raise ImproperlyConfigured(
            f"{type(view).__name__} uses TokenHasScopes but sets no required_scopes."
        )
    if isinstance(required, dict):
        method = method.upper()
        if method not in required and method == "HEAD":
            method = "GET"
        if method not in required and method == "OPTIONS":
            return ((),)
        if method not in required:
            return None
        required = required[method]
    return _as_alternatives(required, view)


class TokenHasScopes(BasePermission):
    """
    Allow a request whose access token carries the scopes the view requires.

    Without a valid token DRF responds with 401; with a token that lacks a scope this
    raises 403 `insufficient_scope` with the RFC 6750 challenge.
    """

    def has_permission(self, request, view):
        principal = request.auth
        if not isinstance(principal, TokenPrincipal):
            return False

        alternatives = required_scopes_for(view, request.method)
        if alternatives is None and not hasattr(view, request.method.lower()):
            return True  # The view responds with 405 Method Not Allowed.
        if alternatives is None:
            raise InsufficientScope(
                [],
                [],
                scopes_settings.REALM,
                detail=f"No scope grants {request.method} on this endpoint.",
            )

        def missing(scope_set):
            return [scope for scope in scope_set if scope not in principal.scopes]

        if any(not missing(scope_set) for scope_set in alternatives):
            return True
        # The closest set lacks the fewest scopes; on a tie, it has the most.
        closest = min(
            alternatives,
            key=lambda scope_set: (len(missing(scope_set)), -len(scope_set)),
        )
        raise InsufficientScope(
            closest, missing(closest), scopes_settings.REALM, alternatives=alternatives
        )
