import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import JsonResponse
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from apis import quotas
from apis.errors import (
    INVALID_REQUEST,
    SERVER_ERROR,
    TEMPORARILY_UNAVAILABLE,
    TOO_MANY_REQUESTS,
    UNSUPPORTED_GRANT_TYPE,
    OAuthError,
)
from apis.keys import SigningKeyUnavailable, key_ring
from apis.models import TokenRecord, TokenRequestFailure
from apis.token_requests import TokenRequest
from apis.tokens import issue_token, parse_scope
from scopes.exceptions import KeysUnavailable

logger = logging.getLogger(__name__)

CLIENT_CREDENTIALS = "client_credentials"


def _record_failure(error, client_id, request):
    try:
        TokenRequestFailure.objects.create(
            error=error.error,
            description=error.description,
            client_id=client_id[:64],
            address=request.META.get("REMOTE_ADDR") or None,
        )
    except DatabaseError as failure:
        logger.warning("Failed to record a rejected token request: %s", failure)


def _from_browser_script(request):
    return request.headers.get("Sec-Fetch-Mode") in {"cors", "same-origin", "no-cors"}


def _no_store(response):
    # RFC 6749 section 5.1: token responses must not be cached.
    response["Cache-Control"] = "no-store"
    response["Pragma"] = "no-cache"
    return response


@method_decorator(csrf_exempt, name="dispatch")
class TokenView(View):
    """The OAuth 2.0 token endpoint for the client credentials grant."""

    http_method_names = ["post", "options"]

    def post(self, request):
        client_id = ""
        try:
            token_request = TokenRequest.from_http(request)
            client_id = token_request.get("client_id") or ""
            grant_type = token_request.get("grant_type")
            if grant_type is None:
                raise OAuthError(
                    INVALID_REQUEST, "The grant_type parameter is missing."
                )
            if grant_type != CLIENT_CREDENTIALS:
                raise OAuthError(
                    UNSUPPORTED_GRANT_TYPE,
                    f"Only the {CLIENT_CREDENTIALS} grant type is supported.",
                )
            application = token_request.authenticate_client(request)
            client_id = application.client_id
            quota_headers = quotas.count_token(application)
            token = issue_token(
                application,
                audience=token_request.audience(),
                scopes=parse_scope(token_request.get("scope")),
                source=TokenRecord.Source.ENDPOINT,
            )
        except OAuthError as error:
            logger.info(
                "Token request rejected: %s: %s", error.error, error.description
            )
            if error.error != TOO_MANY_REQUESTS:
                # Refusals past a limit are not kept: a flood must not turn
                # into database writes.
                _record_failure(error, client_id, request)
            if _from_browser_script(request):
                # A Basic challenge makes browsers hold a fetch() for their own
                # login dialog, so a page such as Swagger UI never receives the
                # error. Fetch metadata (Sec-Fetch-Mode) marks such requests.
                error.headers.pop("WWW-Authenticate", None)
            return error.as_response()
        except SigningKeyUnavailable as error:
            logger.error("Cannot sign a token: %s", error)
            return OAuthError(
                SERVER_ERROR, "The server cannot sign tokens right now.", status=500
            ).as_response()
        except (DatabaseError, KeysUnavailable) as error:
            logger.error("Token request failed, the database is unavailable: %s", error)
            return OAuthError(
                TEMPORARILY_UNAVAILABLE,
                "The server cannot issue tokens right now; try again soon.",
                status=503,
                headers={"Retry-After": "5"},
            ).as_response()

        logger.info(
            "Issued token %s to client %s for %s",
            token.claims["jti"],
            application.client_id,
            token.claims["aud"],
        )
        response = _no_store(JsonResponse(token.as_response_data()))
        for name, value in quota_headers.items():
            response[name] = value
        return response

    def http_method_not_allowed(self, request, *args, **kwargs):
        response = OAuthError(
            INVALID_REQUEST, "The token endpoint accepts only POST.", status=405
        ).as_response()
        response["Allow"] = "POST, OPTIONS"
        return response


@csrf_exempt
@require_safe
def jwks(request):
    """Publish the public signing keys as a JWK Set (RFC 7517 section 5)."""
    try:
        keys = key_ring.public_jwks()
    except (DatabaseError, KeysUnavailable) as error:
        logger.error("Cannot publish the JWKS: %s", error)
        response = JsonResponse(
            {
                "detail": "The keys are unavailable; try again soon.",
                "code": "temporarily_unavailable",
            },
            status=503,
        )
        response["Retry-After"] = "5"
        return response
    response = JsonResponse(keys)
    response["Cache-Control"] = (
        f"public, max-age={settings.GATEHOUSE_JWKS_MAX_AGE_SECONDS}"
    )
    response["Access-Control-Allow-Origin"] = "*"
    return response


@csrf_exempt
@require_safe
def server_metadata(request):
    """Describe the server (RFC 8414 section 2), listing only what it does."""
    issuer = settings.GATEHOUSE_ISSUER
    metadata = {
        "issuer": issuer,
        "token_endpoint": f"{issuer}oauth/token",
        "jwks_uri": f"{issuer}.well-known/jwks.json",
        "grant_types_supported": [CLIENT_CREDENTIALS],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        # Required by RFC 8414 even though no authorization endpoint exists,
        # so the list is empty.
        "response_types_supported": [],
    }
    response = JsonResponse(metadata)
    response["Cache-Control"] = "public, max-age=3600"
    response["Access-Control-Allow-Origin"] = "*"
    return response
