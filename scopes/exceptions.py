"""Errors of the Bearer token scheme (RFC 6750 section 3.1)."""

import re

from rest_framework import exceptions, status

# RFC 6750 section 3: `error_description` and `scope` values may not contain
# a double quote, a backslash or anything outside printable ASCII.
_UNSAFE_IN_CHALLENGE = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")


def challenge_value(text):
    """Make `text` safe for a quoted-string attribute of a Bearer challenge."""
    return _UNSAFE_IN_CHALLENGE.sub("?", str(text))


def bearer_challenge(realm, error=None, description=None, scope=None):
    """Build a `WWW-Authenticate: Bearer` value, each attribute at most once."""
    attributes = [("realm", realm)]
    if error:
        attributes.append(("error", error))
    if description:
        attributes.append(("error_description", description))
    if scope:
        attributes.append(("scope", scope))
    return "Bearer " + ", ".join(
        f'{name}="{challenge_value(value)}"' for name, value in attributes
    )


class BearerTokenError(exceptions.AuthenticationFailed):
    """A request whose Bearer credentials were rejected."""

    status_code = status.HTTP_401_UNAUTHORIZED


class InvalidToken(BearerTokenError):
    """The access token is expired, malformed, or otherwise invalid."""

    default_detail = "The access token is invalid."
    default_code = "invalid_token"


class InvalidRequest(BearerTokenError):
    """The `Authorization` header is malformed."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_detail = "The Authorization header is malformed."
    default_code = "invalid_request"


class KeysUnavailable(exceptions.APIException):
    """The keys to verify tokens cannot be loaded right now."""

    status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    default_detail = "The server cannot verify tokens right now; try again soon."
    default_code = "temporarily_unavailable"
    retry_after_seconds = 5

    def __init__(self, detail=None):
        super().__init__(detail)
        # DRF's exception handler sends `wait` as Retry-After.
        self.wait = self.retry_after_seconds


class InsufficientScope(exceptions.PermissionDenied):
    """
    A valid token that lacks scopes the request needs.

    `required` and `missing` describe the accepted scope set closest to what
    the token has; `alternatives` lists every accepted set when there are more.
    """

    default_code = "insufficient_scope"

    def __init__(self, required, missing, realm, detail=None, alternatives=()):
        self.required = list(required)
        self.missing = list(missing)
        self.alternatives = [list(scope_set) for scope_set in alternatives]
        if detail is None:
            noun = "scope" if len(self.missing) == 1 else "scopes"
            detail = f"The access token lacks the {noun} {' '.join(self.missing)}."
            if len(self.alternatives) > 1:
                choices = "; ".join(" ".join(s) for s in self.alternatives)
                detail += f" Any one of these scope sets is enough: {choices}."
        super().__init__(detail)
        # DRF's exception handler copies `auth_header` into WWW-Authenticate.
        self.auth_header = bearer_challenge(
            realm,
            error=self.default_code,
            description=detail,
            scope=" ".join(self.required),
        )

    @property
    def extra(self):
        extra = {"required_scopes": self.required, "missing_scopes": self.missing}
        if len(self.alternatives) > 1:
            extra["accepted_scope_sets"] = self.alternatives
        return extra
