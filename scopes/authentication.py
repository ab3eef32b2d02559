"""
DRF authentication for `Authorization: Bearer <JWT>` access tokens.

Tokens are verified offline: the signature with a key from the configured key
provider and only with that key's algorithm, then `typ`, `iss`, `aud`, `exp`,
`nbf` and `iat` (RFC 9068 section 4, RFC 8725 section 3).
"""

import logging
import re

import jwt
from rest_framework.authentication import BaseAuthentication

from scopes import denylist
from scopes.conf import scopes_settings
from scopes.exceptions import (
    BearerTokenError,
    InvalidRequest,
    InvalidToken,
    bearer_challenge,
)
from scopes.token_cache import VerifiedToken, verified_tokens

logger = logging.getLogger(__name__)

# RFC 6750 section 2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~"
# / "+" / "/" ) *"=".
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub"]
# 9999-12-31T23:59:59Z as a Unix time.
_MAX_NUMERIC_DATE = 253402300799

_DECODE_ERRORS = [
    (jwt.ExpiredSignatureError, "The access token expired."),
    (jwt.ImmatureSignatureError, "The access token is not valid yet."),
    (jwt.InvalidAudienceError, "The access token is not meant for this API."),
    (jwt.InvalidIssuerError, "The access token comes from an untrusted issuer."),
    (jwt.InvalidSignatureError, "The access token signature is invalid."),
    (jwt.InvalidAlgorithmError, "The access token algorithm is not accepted."),
    (jwt.DecodeError, "The access token is malformed."),
]


class TokenPrincipal:
    """
    The caller named by a verified access token.

    It is not a database user: it carries the client id, the subject, the
    scopes and the claims, and it is what `request.user` and `request.auth`
    hold after a successful authentication.
    """

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, claims, header, scopes):
        self.claims = claims
        self.header = header
        self.scopes = frozenset(scopes)

    @property
    def subject(self):
        return self.claims.get("sub")

    @property
    def client_id(self):
        return self.claims.get("client_id") or self.claims.get("azp")

    def has_scopes(self, scopes):
        return self.scopes.issuperset(scopes)

    def __str__(self):
        return str(self.subject)

    def __repr__(self):
        return f"<TokenPrincipal sub={self.subject!r}>"


class BearerTokenAuthentication(BaseAuthentication):
    """
    Authenticate a request by its Bearer JWT access token.

    A subclass may set `audience` to protect an API other than the one in the
    `GATEHOUSE_SCOPES` setting; it then applies to tokens of every issuer.
    """

    keyword = "bearer"
    audience = None

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() != self.keyword:
            return None

        try:
            token = self.parse_credentials(credentials)
            principal = self.authenticate_token(token)
        except BearerTokenError as error:
            logger.debug("Rejected a bearer token: %s", error.detail)
            # `authenticate_header` reads the error to build the challenge.
            request._bearer_token_error = error
            raise
        return principal, principal

    def authenticate_header(self, request):
        error = getattr(request, "_bearer_token_error", None)
        if error is None:
            return bearer_challenge(scopes_settings.REALM)
        return bearer_challenge(
            scopes_settings.REALM, error=error.default_code, description=error.detail
        )

    def parse_credentials(self, credentials):
        """Return the token of `Bearer 1*SP b64token` (RFC 6750 section 2.1)."""
        token = credentials.lstrip(" ")
        if not token:
            raise InvalidRequest("The Authorization header has no Bearer token.")
        if " " in token or "," in token:
            raise InvalidRequest(
                "The Authorization header must carry exactly one Bearer token."
            )
        if len(token) > scopes_settings.MAX_TOKEN_LENGTH:
            raise InvalidToken(
                f"The access token is longer than "
                f"{scopes_settings.MAX_TOKEN_LENGTH} characters."
            )
        if not _B64TOKEN.fullmatch(token):
            raise InvalidToken("The access token contains characters not allowed.")
        return token

    def authenticate_token(self, token):
        """Verify `token` and return its `TokenPrincipal`, or raise `InvalidToken`."""
        cache_key = (token, self.audience)
        cached = verified_tokens.get(cache_key, scopes_settings.LEEWAY_SECONDS)
        if cached is not None:
            if denylist.enabled() and denylist.is_revoked(cached.claims.get("jti", "")):
                raise InvalidToken("The access token was revoked.")
            return TokenPrincipal(cached.claims, cached.header, cached.scopes)

        principal, issuer, key = self.verify(token)
        verified_tokens.put(
            cache_key,
            VerifiedToken(
                principal.claims,
                principal.header,
                principal.scopes,
                issuer,
                key.kid,
                key.key,
                principal.claims["exp"],
            ),
            scopes_settings.VERIFIED_TOKEN_CACHE_SIZE,
        )
        return principal

    def verify(self, token):
        """Verify `token` fully; return its principal, issuer and key."""
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise InvalidToken("The access token is malformed.") from None

        issuer = self.find_issuer(unverified)
        key = self.find_key(header, issuer)
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[key.algorithm],
                audience=[self.audience] if self.audience else issuer.audiences,
                issuer=issuer.issuer,
                leeway=scopes_settings.LEEWAY_SECONDS,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(
                f"The access token has no {error.claim} claim."
            ) from None
        except jwt.PyJWTError as error:
            raise InvalidToken(self.describe_decode_error(error)) from None
        except (TypeError, ValueError, OverflowError):
            # PyJWT raises its own errors for the documented claim types, so
            # reaching this means a claim of a shape it did not expect.
            logger.warning("A bearer token with unexpected claim types", exc_info=True)
            raise InvalidToken("The access token has invalid claims.") from None

        if key.audience is not None and self.audiences_of(claims) != [key.audience]:
            # A shared secret is held by its API's resource servers, so it may
            # vouch for that API alone, never for a list that names others.
            raise InvalidToken("The access token is signed with another API's key.")
        self.check_numeric_dates(claims)
        if denylist.enabled() and denylist.is_revoked(claims.get("jti", "")):
            raise InvalidToken("The access token was revoked.")
        return TokenPrincipal(claims, header, self.read_scopes(claims)), issuer, key

    @staticmethod
    def audiences_of(claims):
        audience = claims.get("aud")
        return [audience] if isinstance(audience, str) else list(audience or [])

    def check_numeric_dates(self, claims):
        """
        Reject `exp`, `nbf` and `iat` that are not JSON numbers (RFC 7519
        section 2), which PyJWT would read from strings such as "1700000000",
        and dates past the year 9999, which would never expire in practice.
        """
        for claim in ("exp", "nbf", "iat"):
            if claim not in claims:
                continue
            value = claims[claim]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InvalidToken(f"The {claim} claim must be a number.")
            if not 0 <= value <= _MAX_NUMERIC_DATE:
                raise InvalidToken(f"The {claim} claim is out of range.")

    def find_issuer(self, unverified_claims):
        """Return the trusted issuer that the token's `iss` names exactly."""
        if "iss" not in unverified_claims:
            raise InvalidToken("The access token has no iss claim.")
        name = unverified_claims["iss"]
        issuer = scopes_settings.issuers.get(name) if isinstance(name, str) else None
        if issuer is None:
            raise InvalidToken("The access token comes from an untrusted issuer.")
        return issuer

    def find_key(self, header, issuer):
        """Return the issuer's key for the token, checking `alg`, `typ` and `crit`."""
        algorithm = header.get("alg")
        if not isinstance(algorithm, str) or algorithm.lower() == "none":
            raise InvalidToken("The access token is not signed with an accepted key.")
        if issuer.algorithms is not None and algorithm not in issuer.algorithms:
            raise InvalidToken("The access token algorithm is not accepted.")
        if "crit" in header:
            # RFC 7515 section 4.1.11: no header extensions are understood here.
            raise InvalidToken("The access token has a critical header not understood.")
        token_type = header.get("typ")
        accepted_types = {value.lower() for value in issuer.token_types}
        if not isinstance(token_type, str) or token_type.lower() not in accepted_types:
            raise InvalidToken("The token is not an access token (typ header).")

        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("The access token has no key id (kid).")
        key = issuer.find_key(kid)
        if key is None:
            raise InvalidToken("The access token is signed with an unknown key.")
        if key.algorithm != algorithm:
            # RFC 8725 section 3.1: the key fixes the algorithm, never the token.
            raise InvalidToken("The access token algorithm does not match its key.")
        return key

    def describe_decode_error(self, error):
        for error_class, description in _DECODE_ERRORS:
            if isinstance(error, error_class):
                return description
        return "The access token is invalid."

    def read_scopes(self, claims):
        """Collect scopes from each claim in the SCOPE_CLAIMS setting."""
        scopes = set()
        for claim in scopes_settings.SCOPE_CLAIMS:
            value = claims.get(claim)
            if value is None:
                continue
            if isinstance(value, str):
                scopes.update(value.split())
            elif isinstance(value, list) and all(isinstance(v, str) for v in value):
                scopes.update(value)
            else:
                raise InvalidToken(
                    f"The {claim} claim must be a string or a list of strings."
                )
        return scopes
