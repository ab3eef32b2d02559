"""The OpenAPI description of the authorization server's own endpoints."""

import logging

from django.db import DatabaseError

from apis.errors import (
    INVALID_CLIENT,
    INVALID_REQUEST,
    INVALID_SCOPE,
    INVALID_TARGET,
    TEMPORARILY_UNAVAILABLE,
    TOO_MANY_REQUESTS,
    UNSUPPORTED_GRANT_TYPE,
)
from apis.models import Scope
from scopes.conf import scopes_settings

logger = logging.getLogger(__name__)

CLIENT_BASIC_SCHEME = "clientSecretBasic"


def protected_api_scopes():
    """Return {scope: description} of the API these DRF views protect."""
    scopes = Scope.objects.filter(api__identifier=scopes_settings.AUDIENCE)
    try:
        return {scope.value: scope.description or scope.value for scope in scopes}
    except DatabaseError as error:
        # Before `migrate`, as during `check --deploy`, the schema has no scopes.
        logger.warning("The OpenAPI schema lists no scopes: %s", error)
        return {}


def _parameter(description, **schema):
    return {"type": "string", "description": description, **schema}


TOKEN_REQUEST = {
    "type": "object",
    "properties": {
        "grant_type": _parameter(
            "Always client_credentials.", enum=["client_credentials"]
        ),
        "client_id": _parameter(
            "The application's client id, when it is not sent with HTTP Basic."
        ),
        "client_secret": _parameter(
            "The application's client secret, when it is not sent with HTTP Basic."
        ),
        "audience": _parameter(
            "The identifier of the API the token is for. Optional when the "
            "application is authorized for one API only."
        ),
        "resource": _parameter(
            "The same as audience, as RFC 8707 names it: an absolute URI."
        ),
        "scope": _parameter(
            "Space-delimited scopes. Omitted: every scope granted for the API."
        ),
    },
    "required": ["grant_type"],
}
RETRY_AFTER = {
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer"},
    }
}
TOKEN_RESPONSE = {
    "type": "object",
    "properties": {
        "access_token": {"type": "string", "description": "A signed JWT."},
        "token_type": {"type": "string", "enum": ["Bearer"]},
        "expires_in": {"type": "integer", "description": "Lifetime in seconds."},
        "scope": {
            "type": "string",
            "description": "The granted scopes, left out when there are none.",
        },
    },
    "required": ["access_token", "token_type", "expires_in"],
}


def _oauth_error(codes):
    return {
        "type": "object",
        "properties": {
            "error": {"type": "string", "enum": codes},
            "error_description": {"type": "string"},
        },
        "required": ["error", "error_description"],
    }


def _json(schema, description, headers=None):
    response = {
        "description": description,
        "content": {"application/json": {"schema": schema}},
    }
    if headers:
        response["headers"] = headers
    return response


TOKEN_OPERATION = {
    "operationId": "oauth_token_create",
    "summary": "Get an access token (client credentials grant)",
    "description": (
        "RFC 6749 section 4.4. Authenticate the application with HTTP Basic "
        "(client_secret_basic) or with client_id and client_secret in the body "
        "(client_secret_post), never both. The body is form-encoded or JSON."
    ),
    "tags": ["oauth"],
    "security": [{CLIENT_BASIC_SCHEME: []}, {}],
    "requestBody": {
        "required": True,
        "content": {
            "application/x-www-form-urlencoded": {"schema": TOKEN_REQUEST},
            "application/json": {"schema": TOKEN_REQUEST},
        },
    },
    "responses": {
        "200": _json(TOKEN_RESPONSE, "The access token."),
        "400": _json(
            _oauth_error(
                [INVALID_REQUEST, INVALID_SCOPE, INVALID_TARGET, UNSUPPORTED_GRANT_TYPE]
            ),
            "The request is malformed, or asks for a scope or API the application "
            "may not have.",
        ),
        "401": _json(
            _oauth_error([INVALID_CLIENT]),
            "Client authentication failed.",
            headers={
                "WWW-Authenticate": {
                    "description": "Basic realm, when HTTP Basic was used.",
                    "schema": {"type": "string"},
                }
            },
        ),
        "429": _json(
            _oauth_error([TOO_MANY_REQUESTS]),
            "Too many failed client authentications from this client or address.",
            headers=RETRY_AFTER,
        ),
        "503": _json(
            _oauth_error([TEMPORARILY_UNAVAILABLE]),
            "The database is unavailable.",
            headers=RETRY_AFTER,
        ),
    },
}


def _discovery_operation(operation_id, summary):
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["discovery"],
        "security": [{}],
        "responses": {
            "200": _json({"type": "object", "additionalProperties": True}, summary)
        },
    }


def add_authorization_server_paths(result, generator, request, public):
    """
    drf-spectacular postprocessing hook: add the token endpoint and discovery,
    which are plain Django views that the generator does not see.
    """
    result.setdefault("paths", {})
    result["paths"]["/oauth/token"] = {"post": TOKEN_OPERATION}
    result["paths"]["/.well-known/jwks.json"] = {
        "get": _discovery_operation("jwks_retrieve", "The public signing keys")
    }
    for name in ["openid-configuration", "oauth-authorization-server"]:
        result["paths"][f"/.well-known/{name}"] = {
            "get": _discovery_operation(
                name.replace("-", "_") + "_retrieve",
                "The authorization server metadata (RFC 8414)",
            )
        }
    schemes = result.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[CLIENT_BASIC_SCHEME] = {
        "type": "http",
        "scheme": "basic",
        "description": "The client id and secret of an application.",
    }
    return result
