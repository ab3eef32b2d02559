"""
Reading a token request: its parameters and its client authentication
(RFC 6749 sections 2.3, 3.2 and 4.4.2; RFC 8707 section 2).
"""

import base64
import binascii
import json
import logging
import re
from urllib.parse import parse_qsl, unquote_plus

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation

from apis import throttling
from apis.credentials import hash_client_secret
from apis.errors import (
    INVALID_CLIENT,
    INVALID_REQUEST,
    INVALID_TARGET,
    TOO_MANY_REQUESTS,
    OAuthError,
)
from apis.models import Application

logger = logging.getLogger(__name__)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
BASIC_REALM = "gatehouse"

PARAMETERS = frozenset(
    {"grant_type", "client_id", "client_secret", "audience", "resource", "scope"}
)
# RFC 8707 section 2 allows `resource` more than once; every other parameter
# may appear at most once (RFC 6749 section 3.1).
_REPEATABLE = {"resource"}
_MAX_FIELDS = 100
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")
_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^#]*")
_MAX_CLIENT_ID_LENGTH = Application._meta.get_field("client_id").max_length
# Checked for unknown client ids too, so the response takes as long either way.
_UNKNOWN_CLIENT_HASH = hash_client_secret("unknown client", secret_key="unknown")


def _invalid_client(description):
    # RFC 9110 section 15.5.2: every 401 carries a challenge, and RFC 6749
    # section 5.2 uses it to name the supported scheme.
    headers = {"WWW-Authenticate": f'Basic realm="{BASIC_REALM}"'}
    return OAuthError(INVALID_CLIENT, description, status=401, headers=headers)


def _check_text(name, value):
    if _CONTROL_CHARACTERS.search(value):
        raise OAuthError(
            INVALID_REQUEST, f"The {name} parameter contains control characters."
        )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise OAuthError(
            INVALID_REQUEST, f"The {name} parameter is not valid Unicode."
        ) from None
    return value


def _reject_duplicate_keys(pairs):
    names = [name for name, _ in pairs]
    for name in names:
        if names.count(name) > 1:
            raise OAuthError(INVALID_REQUEST, f"The {name} parameter is repeated.")
    return dict(pairs)


class TokenRequest:
    """The parameters of a token request, with empty values left out."""

    def __init__(self, params, resources):
        self.params = params
        self.resources = resources

    def get(self, name):
        return self.params.get(name)

    @classmethod
    def from_http(cls, request):
        try:
            query_names = set(request.GET)
        except SuspiciousOperation:
            raise OAuthError(
                INVALID_REQUEST, "The URL has too many parameters."
            ) from None
        if "client_secret" in query_names:
            raise OAuthError(
                INVALID_REQUEST, "The client secret must not be sent in the URL."
            )

        content_type = request.content_type or ""
        charset = request.content_params.get("charset", "utf-8").lower()
        if charset not in {"utf-8", "utf8"}:
            raise OAuthError(INVALID_REQUEST, "The request body must be UTF-8.")
        try:
            body = request.body
        except (RequestDataTooBig, SuspiciousOperation):
            raise OAuthError(
                INVALID_REQUEST, "The request body is too large."
            ) from None

        if content_type == JSON:
            pairs = cls._read_json(body)
        elif content_type == FORM:
            pairs = cls._read_form(body)
        elif not body and content_type in {"", "text/plain"}:
            pairs = []
        else:
            raise OAuthError(
                INVALID_REQUEST, f"The Content-Type must be {FORM} or {JSON}."
            )
        return cls._from_pairs(pairs)

    @staticmethod
    def _read_form(body):
        # Parsed here rather than by request.POST, which replaces invalid
        # UTF-8 with U+FFFD instead of rejecting it.
        try:
            return parse_qsl(
                body.decode("utf-8"),
                keep_blank_values=True,
                strict_parsing=False,
                encoding="utf-8",
                errors="strict",
                max_num_fields=_MAX_FIELDS,
            )
        except UnicodeDecodeError:
            raise OAuthError(
                INVALID_REQUEST, "The request body is not valid UTF-8."
            ) from None
        except ValueError:
            raise OAuthError(
                INVALID_REQUEST, "The request body has too many parameters."
            ) from None

    @staticmethod
    def _read_json(body):
        try:
            data = json.loads(body, object_pairs_hook=_reject_duplicate_keys)
        except (ValueError, RecursionError):
            raise OAuthError(
                INVALID_REQUEST, "The request body is not valid JSON."
            ) from None
        if not isinstance(data, dict):
            raise OAuthError(INVALID_REQUEST, "The request body must be a JSON object.")

        pairs = []
        for name, value in data.items():
            if name not in PARAMETERS:
                continue
            values = (
                value if name in _REPEATABLE and isinstance(value, list) else [value]
            )
            for item in values:
                if item is None:
                    continue
                if not isinstance(item, str):
                    raise OAuthError(
                        INVALID_REQUEST, f"The {name} parameter must be a string."
                    )
                pairs.append((name, item))
        return pairs

    @classmethod
    def _from_pairs(cls, pairs):
        params = {}
        resources = []
        seen = set()
        for name, value in pairs:
            # RFC 6749 section 3.2: unknown parameters are ignored, and
            # section 3.1: a parameter without a value counts as omitted.
            if name not in PARAMETERS or value == "":
                continue
            if name in _REPEATABLE:
                resources.append(_check_text(name, value))
                continue
            if name in seen:
                raise OAuthError(INVALID_REQUEST, f"The {name} parameter is repeated.")
            seen.add(name)
            params[name] = _check_text(name, value)
        return cls(params, resources)

    def audience(self):
        """
        Return the API identifier that `audience` or `resource` names, or None.

        `resource` must be an absolute URI without a fragment, and all its
        values must agree, since a token serves one API (RFC 8707 section 2).
        """
        audience = self.get("audience")
        if not self.resources:
            return audience
        for resource in self.resources:
            if not _ABSOLUTE_URI.fullmatch(resource):
                raise OAuthError(
                    INVALID_TARGET,
                    "The resource parameter must be an absolute URI without a "
                    "fragment.",
                )
        if len(set(self.resources)) > 1:
            raise OAuthError(
                INVALID_TARGET,
                "The request names several resources; a token is for one API.",
            )
        resource = self.resources[0]
        if audience is not None and audience != resource:
            raise OAuthError(
                INVALID_REQUEST, "The audience and resource parameters differ."
            )
        return resource

    def authenticate_client(self, request):
        """
        Return the `Application` that the request authenticates as.

        HTTP Basic (client_secret_basic) or client_id and client_secret in the
        body (client_secret_post); one method per request (RFC 6749 section 2.3).
        """
        header = request.META.get("HTTP_AUTHORIZATION")
        body_client_id = self.get("client_id")
        body_secret = self.get("client_secret")

        if header:
            scheme, _, credentials = header.partition(" ")
            if scheme.lower() != "basic":
                raise _invalid_client(
                    "The Authorization header must use the Basic scheme."
                )
            if body_secret is not None:
                raise OAuthError(
                    INVALID_REQUEST,
                    "Send the client credentials in the Authorization header or "
                    "in the body, not both.",
                )
            client_id, secret = self._decode_basic(credentials)
            if body_client_id is not None and body_client_id != client_id:
                raise OAuthError(
                    INVALID_REQUEST,
                    "The client_id in the body differs from the Authorization header.",
                )
        elif body_client_id is None and body_secret is None:
            raise _invalid_client(
                "Client authentication is missing. Send the client id and secret "
                "with HTTP Basic or as client_id and client_secret."
            )
        elif body_client_id is None:
            raise _invalid_client("The client_id parameter is missing.")
        elif body_secret is None:
            raise _invalid_client("The client_secret parameter is missing.")
        else:
            client_id, secret = body_client_id, body_secret

        address = request.META.get("REMOTE_ADDR", "")
        wait = throttling.retry_after(client_id, address)
        if wait is not None:
            raise OAuthError(
                TOO_MANY_REQUESTS,
                "Too many failed client authentications; try again later.",
                status=429,
                headers={"Retry-After": str(wait)},
            )

        application = None
        if len(client_id) <= _MAX_CLIENT_ID_LENGTH:
            application = Application.objects.filter(client_id=client_id).first()
        if application is None:
            Application(client_secret_hash=_UNKNOWN_CLIENT_HASH).check_client_secret(
                secret
            )
            throttling.record_failure(client_id, address)
            raise _invalid_client("Client authentication failed.")
        if not application.check_client_secret(secret):
            throttling.record_failure(client_id, address)
            logger.warning(
                "Failed client authentication for %s from %s", client_id, address
            )
            raise _invalid_client("Client authentication failed.")
        if not application.active:
            raise _invalid_client("The application is inactive.")
        return application

    @staticmethod
    def _decode_basic(credentials):
        """Decode `id:secret`, each form-encoded (RFC 6749 section 2.3.1)."""
        try:
            decoded = base64.b64decode(credentials.strip(), validate=True)
            client_id, separator, secret = decoded.decode("utf-8").partition(":")
            client_id = unquote_plus(client_id, errors="strict")
            secret = unquote_plus(secret, errors="strict")
        except (binascii.Error, ValueError):
            raise _invalid_client(
                "The Basic credentials are not valid base64 of client_id:secret.",
            ) from None
        if not separator or not client_id or not secret:
            raise _invalid_client("The Basic credentials must be client_id:secret.")
        for name, value in [("client_id", client_id), ("client_secret", secret)]:
            if _CONTROL_CHARACTERS.search(value):
                raise _invalid_client(f"The Basic {name} contains control characters.")
        return client_id, secret
