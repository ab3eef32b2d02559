"""OAuth 2.0 error responses of the token endpoint (RFC 6749 section 5.2)."""

import re

from django.http import JsonResponse

INVALID_REQUEST = "invalid_request"
INVALID_CLIENT = "invalid_client"
INVALID_SCOPE = "invalid_scope"
INVALID_TARGET = "invalid_target"
UNSUPPORTED_GRANT_TYPE = "unsupported_grant_type"
# Not in RFC 6749 section 5.2, but the code its authorization endpoint uses.
SERVER_ERROR = "server_error"
# RFC 6749 section 4.1.2.1 names this code for an overloaded or down server.
TEMPORARILY_UNAVAILABLE = "temporarily_unavailable"
# Not an RFC 6749 code: the error sent with 429 Too Many Requests (RFC 6585).
TOO_MANY_REQUESTS = "too_many_requests"

# RFC 6749 section 5.2: error_description is printable ASCII without `"` and `\`.
_UNSAFE_IN_DESCRIPTION = re.compile(r"[^\x20\x21\x23-\x5b\x5d-\x7e]")
_MAX_QUOTED_LENGTH = 120
_MAX_DESCRIPTION_LENGTH = 400


def shorten(text, max_length=_MAX_QUOTED_LENGTH):
    """Cut client-supplied `text` to `max_length` characters, marked with "..."."""
    if len(text) > max_length:
        return text[: max_length - 3] + "..."
    return text


def quote_value(value):
    """Quote a client-supplied value for an error description, shortened and safe."""
    return "'" + shorten(_UNSAFE_IN_DESCRIPTION.sub("?", str(value))) + "'"


class OAuthError(Exception):
    """An error that the token endpoint returns as `{"error", "error_description"}`."""

    def __init__(self, error, description, status=400, headers=None):
        super().__init__(description)
        self.error = error
        safe = _UNSAFE_IN_DESCRIPTION.sub("?", description)
        self.description = shorten(safe, _MAX_DESCRIPTION_LENGTH)
        self.status = status
        self.headers = headers or {}

    def as_response(self):
        response = JsonResponse(
            {"error": self.error, "error_description": self.description},
            status=self.status,
        )
        response["Cache-Control"] = "no-store"
        response["Pragma"] = "no-cache"
        for name, value in self.headers.items():
            response[name] = value
        return response
