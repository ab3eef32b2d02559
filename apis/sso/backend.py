"""
The authentication backend that turns a provider's sign-in into a Django user.

It builds on mozilla-django-oidc's backend and closes its gaps. The ID token's
`iss`, `aud`, `azp` and nonce are checked, and only the provider's published
public-key algorithms are accepted. The provider's keys come from the cache.
The settings admit a person before any account is touched.
"""

import hashlib
import hmac
import logging
from urllib.parse import quote

import jwt
import requests
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from apis.models import SingleSignOnIdentity

from . import admission, provider

logger = logging.getLogger(__name__)

# Clock difference allowed between the provider and this server.
LEEWAY_SECONDS = 60


class SignInFailed(Exception):
    """The sign-in cannot be trusted or completed; the person may start again."""


class SingleSignOnBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        # The parent reads every setting here. Django also builds this backend
        # to load the user of each signed-in request, which needs none of them.
        from django.contrib.auth import get_user_model

        self.UserModel = get_user_model()

    get_settings = staticmethod(provider.library_setting)

    def authenticate(self, request, nonce=None, code_verifier=None, **credentials):
        # Only the callback view signs in through here, always with a nonce;
        # a password form's credentials, or a stray ?code=, never reach it.
        if request is None or nonce is None or code_verifier is None or credentials:
            return None
        self.metadata = provider.get_metadata()
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        self.OIDC_RP_CLIENT_SECRET = self.get_settings("OIDC_RP_CLIENT_SECRET")
        self.OIDC_OP_TOKEN_ENDPOINT = self.metadata.token_endpoint
        self.OIDC_OP_USER_ENDPOINT = self.metadata.userinfo_endpoint
        return super().authenticate(request, nonce=nonce, code_verifier=code_verifier)

    def get_token(self, payload):
        """Redeem the code at the token endpoint (RFC 6749, section 4.1.3)."""
        payload = dict(payload)
        auth = None
        if self.metadata.token_auth_method == "client_secret_basic":
            # RFC 6749, section 2.3.1: both parts are form-encoded first.
            auth = (
                quote(payload.pop("client_id"), safe=""),
                quote(payload.pop("client_secret"), safe=""),
            )
        try:
            response = requests.post(
                self.metadata.token_endpoint,
                data=payload,
                auth=auth,
                timeout=self.get_settings("OIDC_TIMEOUT"),
            )
        except requests.RequestException as error:
            raise provider.ProviderUnavailable(
                f"The token endpoint could not be reached: {error}"
            ) from None
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code >= 500 or not isinstance(body, dict):
            raise provider.ProviderUnavailable(
                f"The token endpoint responded with HTTP {response.status_code}."
            )
        if response.status_code != 200:
            error = body.get("error", "an error")
            raise SignInFailed(
                f"The identity provider rejected the sign-in code ({error}). It may "
                "have been used already."
            )
        if not isinstance(body.get("id_token"), str):
            raise SignInFailed("The identity provider sent no ID token.")
        return body

    def verify_token(self, token, **kwargs):
        """Check the ID token (OpenID Connect Core 1.0, section 3.1.3.7)."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise SignInFailed("The ID token is malformed.") from None
        algorithm = header.get("alg")
        kid = header.get("kid")
        if algorithm not in self.metadata.signing_algorithms:
            raise SignInFailed(
                f"The ID token is signed with {algorithm!r}, which the identity "
                "provider does not publish."
            )
        key = provider.signing_key(self.metadata, kid, algorithm)
        if key is None:
            raise SignInFailed("The ID token is signed with an unknown key.")

        client_id = self.OIDC_RP_CLIENT_ID
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=client_id,
                issuer=self.metadata.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.InvalidTokenError as error:
            raise SignInFailed(f"The ID token is not valid: {error}.") from None

        # azp must name this client when it is present, and whenever the token
        # has several audiences.
        audiences = claims["aud"] if isinstance(claims["aud"], list) else []
        azp_needed = "azp" in claims or len(audiences) > 1
        if azp_needed and claims.get("azp") != client_id:
            raise SignInFailed("The ID token was issued to another client.")

        expected_nonce = (kwargs.get("nonce") or "").encode()
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not hmac.compare_digest(
            nonce.encode(), expected_nonce
        ):
            raise SignInFailed("The ID token's nonce does not match this sign-in.")
        if not isinstance(claims["sub"], str) or not claims["sub"]:
            raise SignInFailed("The ID token has no subject.")
        return claims

    def get_userinfo(self, access_token, id_token, payload):
        """Return the ID token's claims, updated with the userinfo response."""
        if not self.metadata.userinfo_endpoint or not access_token:
            return dict(payload)
        try:
            response = requests.get(
                self.metadata.userinfo_endpoint,
                headers={"Authorization": f"Bearer {access_token}"},
                timeout=self.get_settings("OIDC_TIMEOUT"),
            )
        except requests.RequestException as error:
            raise provider.ProviderUnavailable(
                f"The userinfo endpoint could not be reached: {error}"
            ) from None
        content_type = response.headers.get("Content-Type", "")
        if response.status_code != 200 or not content_type.startswith(
            "application/json"
        ):
            raise provider.ProviderUnavailable(
                f"The userinfo endpoint responded with HTTP {response.status_code} "
                f"with {content_type or 'no content type'}."
            )
        try:
            userinfo = response.json()
        except ValueError:
            userinfo = None
        if not isinstance(userinfo, dict):
            raise provider.ProviderUnavailable(
                "The userinfo response is not a JSON object."
            )
        # OpenID Connect Core 1.0, section 5.3.2: a different subject means the
        # response describes someone else.
        if userinfo.get("sub") != payload["sub"]:
            raise SignInFailed("The userinfo response describes another person.")
        return {**payload, **userinfo}

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        config = provider.config()
        identity = admission.describe(claims)
        try:
            admitted = admission.decide(claims, config)
            with transaction.atomic():
                user = self.find_or_create_user(claims, identity)
                self.apply(user, admitted, claims)
        except admission.SignInRejected as rejection:
            logger.warning(
                "Single sign-on rejected %s (subject %s): %s",
                rejection.identity or identity,
                claims["sub"],
                rejection.message,
            )
            raise
        logger.info(
            "Single sign-on admitted %s as user %s, by %s.",
            identity,
            user.get_username(),
            admitted.reason,
        )
        return user

    def find_or_create_user(self, claims, identity):
        issuer = self.metadata.issuer
        link = (
            SingleSignOnIdentity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=issuer, subject=claims["sub"])
            .first()
        )
        if link is None:
            user = self.find_user_by_email(claims) or self.create_user(claims)
            link = SingleSignOnIdentity(user=user, issuer=issuer, subject=claims["sub"])
        user = link.user
        if not user.is_active:
            raise admission.SignInRejected(
                f"The account of {identity} is deactivated in this admin.", identity
            )
        email = claims.get("email")
        link.email = email if isinstance(email, str) else ""
        link.last_sign_in_at = timezone.now()
        link.save()
        return user

    def find_user_by_email(self, claims):
        """Find an account made earlier, with a password, for the same person."""
        email = claims.get("email")
        if not isinstance(email, str) or not admission.is_verified(claims):
            return None
        candidates = list(
            self.UserModel.objects.filter(email__iexact=email)
            .exclude(sso_identities__issuer=self.metadata.issuer)
            .order_by("pk")[:2]
        )
        if len(candidates) > 1:
            raise admission.SignInRejected(
                f"Several accounts in this admin have the email address {email}; "
                "an administrator must remove the extra ones first.",
                email,
            )
        return candidates[0] if candidates else None

    def create_user(self, claims):
        email = claims.get("email") if isinstance(claims.get("email"), str) else ""
        username = email
        if not username or self.UserModel.objects.filter(username=username).exists():
            digest = hashlib.sha256(
                f"{self.metadata.issuer} {claims['sub']}".encode()
            ).hexdigest()
            username = f"sso-{digest[:20]}"
        user = self.UserModel(username=username[:150], email=email)
        user.set_unusable_password()
        user.save()
        return user

    def apply(self, user, admitted, claims):
        """Set staff, superuser and the mapped groups from the current claims."""
        user.is_staff = True
        if admitted.superuser is not None:
            user.is_superuser = admitted.superuser
        for field, claim in (
            ("first_name", "given_name"),
            ("last_name", "family_name"),
        ):
            if isinstance(claims.get(claim), str):
                setattr(user, field, claims[claim][:150])
        email = claims.get("email")
        if isinstance(email, str) and admission.is_verified(claims):
            user.email = email
        user.save()

        managed = {
            name for names in provider.config()["GROUP_MAP"].values() for name in names
        }
        existing = {
            group.name: group for group in Group.objects.filter(name__in=managed)
        }
        for name in sorted(admitted.groups - existing.keys()):
            logger.warning(
                "GATEHOUSE_SSO_GROUP_MAP names the Django group %r, which does not "
                "exist; create it in the admin.",
                name,
            )
        user.groups.remove(
            *(group for name, group in existing.items() if name not in admitted.groups)
        )
        user.groups.add(
            *(group for name, group in existing.items() if name in admitted.groups)
        )
