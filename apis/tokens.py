"""
Minting access tokens: the one code path behind the token endpoint and the
`mint_token` command.
"""

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt
from django.conf import settings

from apis.errors import (
    INVALID_CLIENT,
    INVALID_REQUEST,
    INVALID_SCOPE,
    INVALID_TARGET,
    OAuthError,
    quote_value,
    shorten,
)
from apis.keys import key_ring
from apis.models import API, ClientGrant, TokenRecord
from scopes.validators import SCOPE_TOKEN

GRANT_TYPE = "client-credentials"


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    header: dict
    claims: dict
    expires_in: int

    @property
    def scope(self):
        return self.claims.get("scope", "")

    def as_response_data(self):
        """Return the RFC 6749 section 5.1 success body."""
        data = {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
        }
        if self.scope:
            data["scope"] = self.scope
        return data


def find_grant(application, audience):
    """
    Return the application's grant for the API named `audience`.

    Without an audience, the API in GATEHOUSE_DEFAULT_AUDIENCE is used, else the
    only API the application is granted.
    """
    if audience is None:
        audience = settings.GATEHOUSE_DEFAULT_AUDIENCE or None
    if audience is None:
        grants = list(application.grants.select_related("api")[:2])
        if len(grants) == 1:
            return grants[0]
        raise OAuthError(
            INVALID_REQUEST,
            "The audience parameter is missing. Send audience (or resource) with "
            "the identifier of the API the token is for.",
        )

    grant = (
        ClientGrant.objects.select_related("api")
        .filter(application=application, api__identifier=audience)
        .first()
    )
    if grant is not None:
        return grant
    if API.objects.filter(identifier=audience).exists():
        raise OAuthError(
            INVALID_TARGET,
            f"The application is not authorized for the API {quote_value(audience)}.",
        )
    raise OAuthError(
        INVALID_TARGET, f"No API has the identifier {quote_value(audience)}."
    )


def parse_scope(scope):
    """
    Split the space-delimited `scope` parameter (RFC 6749 section 3.3) into a
    list without duplicates, or return None when it was omitted.
    """
    if scope is None:
        return None
    requested = list(dict.fromkeys(value for value in scope.split(" ") if value))
    if not requested:
        raise OAuthError(INVALID_SCOPE, "The scope parameter contains only spaces.")
    malformed = [value for value in requested if not SCOPE_TOKEN.fullmatch(value)]
    if malformed:
        raise OAuthError(
            INVALID_SCOPE,
            f"The scope parameter is malformed near {quote_value(malformed[0])}.",
        )
    return requested


def select_scopes(grant, requested):
    """
    Return the scopes for the token: the `requested` list, or every granted
    scope when it is None.
    """
    granted = list(grant.scopes.order_by("value").values_list("value", flat=True))
    if requested is None:
        return granted
    not_granted = [value for value in requested if value not in granted]
    if not_granted:
        noun = "scope" if len(not_granted) == 1 else "scopes"
        raise OAuthError(
            INVALID_SCOPE,
            f"The application is not granted the {noun} "
            f"{shorten(' '.join(not_granted))} for the API "
            f"{quote_value(grant.api.identifier)}.",
        )
    return list(requested)


def issue_token(application, *, audience=None, scopes=None, source, issued_by=None):
    """
    Mint an access token for `application` and record it, or raise `OAuthError`.

    The caller has authenticated the application. `audience` is an API
    identifier or None; `scopes` is a list of scope values, or None for every
    scope granted for that API. `source` is a `TokenRecord.Source`, and
    `issued_by` the admin user who minted it, if any.
    """
    if not application.active:
        raise OAuthError(INVALID_CLIENT, "The application is inactive.", status=401)

    grant = find_grant(application, audience)
    scopes = select_scopes(grant, scopes)
    api = grant.api

    issued_at = int(time.time())
    claims = {
        "iss": settings.GATEHOUSE_ISSUER,
        "sub": f"{application.client_id}@clients",
        "aud": api.identifier,
        "iat": issued_at,
        "exp": issued_at + api.token_lifetime_seconds,
        "jti": str(uuid.uuid4()),
        "client_id": application.client_id,
        "azp": application.client_id,
        "gty": GRANT_TYPE,
    }
    if scopes:
        claims["scope"] = " ".join(scopes)

    signing_key = key_ring.signing_key(api.signing_algorithm, api)
    header = {"alg": signing_key.algorithm, "kid": signing_key.kid}
    header["typ"] = api.token_type_header
    access_token = jwt.encode(
        claims,
        signing_key.private_key,
        algorithm=signing_key.algorithm,
        headers=header,
    )
    if settings.GATEHOUSE_RECORD_TOKENS:
        _record(application, api, claims, source, issued_by)
    return IssuedToken(access_token, header, claims, api.token_lifetime_seconds)


def _record(application, api, claims, source, issued_by):
    TokenRecord.objects.create(
        jti=claims["jti"],
        application=application,
        client_id=application.client_id,
        api=api,
        audience=api.identifier,
        scopes=claims.get("scope", ""),
        source=source,
        issued_by=issued_by,
        issued_at=datetime.fromtimestamp(claims["iat"], tz=UTC),
        expires_at=datetime.fromtimestamp(claims["exp"], tz=UTC),
    )
