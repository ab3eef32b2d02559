"""
OpenAPI for views protected by the `scopes` classes, with drf-spectacular.

The security requirements of each operation come from the same
`required_scopes` that `TokenHasScopes` enforces, so the schema cannot
disagree with the server. Use `AutoSchema` as DRF's DEFAULT_SCHEMA_CLASS to
document the 400, 401 and 403 responses too.
"""

from django.utils.module_loading import import_string
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from scopes.authentication import BearerTokenAuthentication
from scopes.conf import scopes_settings
from scopes.permissions import TokenHasScopes, required_scopes_for

BEARER_SCHEME = "bearerAuth"
OAUTH2_SCHEME = "oauth2"

CHALLENGE_HEADER = {
    "WWW-Authenticate": {
        "description": (
            "The RFC 6750 challenge: Bearer realm, and error, error_description "
            "and scope when a token was sent."
        ),
        "schema": {"type": "string"},
    }
}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "detail": {"type": "string", "description": "What went wrong, in a sentence."},
        "code": {"type": "string", "description": "A stable snake_case error code."},
    },
    "required": ["detail", "code"],
}
SCOPE_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        **ERROR_SCHEMA["properties"],
        "required_scopes": {"type": "array", "items": {"type": "string"}},
        "missing_scopes": {"type": "array", "items": {"type": "string"}},
        "accepted_scope_sets": {
            "type": "array",
            "items": {"type": "array", "items": {"type": "string"}},
        },
    },
    "required": ["detail", "code"],
}


def token_url():
    return scopes_settings.OPENAPI_TOKEN_URL


def documented_scopes():
    """Return {scope: description} from the OPENAPI_SCOPES setting."""
    source = scopes_settings.OPENAPI_SCOPES
    if isinstance(source, str):
        source = import_string(source)
    if callable(source):
        source = source()
    return dict(source or {})


def scope_alternatives(view, method):
    """Return the scope sets the view accepts, or None when it checks no scope."""
    permissions = view.get_permissions()
    if not any(isinstance(permission, TokenHasScopes) for permission in permissions):
        return None
    return required_scopes_for(view, method)


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = BearerTokenAuthentication
    match_subclasses = True

    @property
    def name(self):
        if token_url():
            return [BEARER_SCHEME, OAUTH2_SCHEME]
        return [BEARER_SCHEME]

    def get_security_definition(self, auto_schema):
        definitions = [
            {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "An access token from the token endpoint.",
            }
        ]
        if token_url():
            definitions.append(
                {
                    "type": "oauth2",
                    "description": (
                        "Client credentials: the client id and secret of an "
                        "application authorized for this API."
                    ),
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": token_url(),
                            "scopes": documented_scopes(),
                        }
                    },
                }
            )
        return definitions

    def get_security_requirement(self, auto_schema):
        alternatives = scope_alternatives(auto_schema.view, auto_schema.method)
        # OpenAPI 3.0 lets only OAuth2 requirements name scopes; a Bearer
        # requirement always has an empty list.
        requirements = [{BEARER_SCHEME: []}]
        if token_url():
            for scope_set in alternatives or [()]:
                requirements.append({OAUTH2_SCHEME: list(scope_set)})
        return requirements


class AutoSchema(SpectacularAutoSchema):
    """Document the errors of Bearer authentication and of missing scopes."""

    def _protected(self):
        return any(
            isinstance(authenticator, BearerTokenAuthentication)
            for authenticator in self.view.get_authenticators()
        )

    def get_description(self):
        description = super().get_description() or ""
        if not self._protected():
            note = "Public: no token needed."
        else:
            alternatives = scope_alternatives(self.view, self.method)
            if not alternatives or alternatives == ((),):
                note = "Needs a valid access token; no scope."
            else:
                choices = " or ".join(
                    " ".join(f"`{scope}`" for scope in scope_set)
                    for scope_set in alternatives
                )
                note = f"Needs an access token with the scopes {choices}."
        return f"{description}\n\n{note}".strip()

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if not self._protected():
            return responses

        responses.setdefault(
            "400",
            self._error_response(
                "A malformed Authorization header (invalid_request), or an "
                "invalid request body.",
                {"type": "object", "additionalProperties": True},
            ),
        )
        responses["401"] = self._error_response(
            "No token (not_authenticated), or an expired, forged or malformed "
            "one (invalid_token).",
            ERROR_SCHEMA,
        )
        if scope_alternatives(self.view, self.method) is not None:
            responses["403"] = self._error_response(
                "The token lacks a required scope (insufficient_scope).",
                SCOPE_ERROR_SCHEMA,
            )
        return responses

    @staticmethod
    def _error_response(description, schema):
        return {
            "description": description,
            "headers": CHALLENGE_HEADER,
            "content": {"application/json": {"schema": schema}},
        }
