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
import re
from urllib.parse import quote

import jwt
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from mozilla_django_oidc.auth import OIDCAuthenticationBackend

from apis.models import SingleSignOnIdentity
from apis.services import sso_managed_groups, withdraw_admin_rights

from . import admission, provider

logger = logging.getLogger(__name__)

# Clock difference allowed between the provider and this server.
LEEWAY_SECONDS = 60
# The characters Django's default username validator accepts.
USERNAME = re.compile(r"[\w.@+-]+")
# OpenID Connect Core 1.0, section 2: `sub` is at most 255 ASCII characters.
SUBJECT = re.compile(r"[\x21-\x7e]{1,255}")
# RFC 6750, section 2.1: the characters of a bearer token.
ACCESS_TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
# Characters a name must not keep: controls, and lone surrogates, which no
# database can store as UTF-8.
UNSTORABLE_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


class SignInFailed(Exception):
    """The sign-in cannot be trusted or completed; the person may start again."""


class SingleSignOnBackend(OIDCAuthenticationBackend):
    def __init__(self, *args, **kwargs):
        # The parent reads every setting here. Django also builds this backend
        # to load the user of each signed-in request, which needs none of them.
        self.UserModel = get_user_model()

    get_settings = staticmethod(provider.library_setting)

    @sensitive_variables()
    def authenticate(self, request, nonce=None, code_verifier=None, **credentials):
        """
        Redeem the callback's code, check the ID token, and return the admitted
        user. Raise SignInFailed, SignInRejected or ProviderUnavailable.
        """
        # Only the callback view signs in through here, always with a nonce and
        # a verifier, so a password form's credentials never reach this code.
        if request is None or nonce is None or code_verifier is None or credentials:
            return None
        self.request = request
        self.metadata = provider.get_metadata()
        self.OIDC_RP_CLIENT_ID = self.get_settings("OIDC_RP_CLIENT_ID")
        token_response = self.get_token(
            {
                "grant_type": "authorization_code",
                "code": request.GET.get("code", ""),
                "redirect_uri": request.build_absolute_uri(reverse("sso-callback")),
                "code_verifier": code_verifier,
                "client_id": self.OIDC_RP_CLIENT_ID,
                "client_secret": self.get_settings("OIDC_RP_CLIENT_SECRET"),
            }
        )
        id_token = token_response["id_token"]
        access_token = token_response.get("access_token")
        claims = self.verify_token(id_token, nonce=nonce)
        user = self.get_or_create_user(access_token, id_token, claims)
        # Kept only for an admitted person, as the hint for provider logout.
        self.store_tokens(access_token, id_token)
        return user

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
        response = provider.send(
            "POST", self.metadata.token_endpoint, data=payload, auth=auth
        )
        body = provider.json_object(response)
        if response.status_code >= 500 or body is None:
            raise provider.ProviderUnavailable(
                f"The token endpoint responded with HTTP {response.status_code}."
            )
        if response.status_code != 200:
            # The provider's text goes on a page and into the log: printable
            # ASCII only.
            error = re.sub(r"[^\x20-\x7e]", "?", str(body.get("error", "an error")))
            error = error[:100]
            raise SignInFailed(
                f"The identity provider rejected the sign-in code ({error}). It may "
                "have been used already."
            )
        if not isinstance(body.get("id_token"), str):
            raise SignInFailed("The identity provider sent no ID token.")

        access_token = body.get("access_token")
        if access_token is not None and not (
            isinstance(access_token, str) and ACCESS_TOKEN.fullmatch(access_token)
        ):
            raise provider.ProviderUnavailable(
                "The token endpoint returned a malformed access token."
            )
        return body

    @sensitive_variables()
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
        client_id = self.OIDC_RP_CLIENT_ID
        try:
            claims = self.decode(token, kid, algorithm, refetch=False)
        except jwt.InvalidSignatureError:
            # A provider may have replaced a key and kept its kid. The ID token
            # came straight from the token endpoint, not from the browser, so
            # fetching the key set again cannot be triggered at will.
            claims = self.decode(token, kid, algorithm, refetch=True)

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
        if not isinstance(claims["sub"], str) or not SUBJECT.fullmatch(claims["sub"]):
            raise SignInFailed(
                "The ID token's subject is not 1 to 255 printable ASCII characters."
            )
        return claims

    def decode(self, token, kid, algorithm, refetch):
        key = provider.signing_key(self.metadata, kid, algorithm, refetch=refetch)
        if key is None:
            raise SignInFailed("The ID token is signed with an unknown key.")
        try:
            return jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=self.metadata.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["iss", "sub", "aud", "exp", "iat"]},
            )
        except jwt.InvalidSignatureError:
            if refetch:
                raise SignInFailed(
                    "The ID token is not valid: Signature verification failed."
                ) from None
            raise
        except jwt.InvalidTokenError as error:
            raise SignInFailed(f"The ID token is not valid: {error}.") from None
        except jwt.PyJWTError as error:
            # For example an EC key on another curve than the algorithm's.
            raise SignInFailed(
                f"The ID token's key does not fit its algorithm: {error}."
            ) from None

    @sensitive_variables()
    def get_userinfo(self, access_token, id_token, payload):
        """Return the ID token's claims, updated with the userinfo response."""
        if not self.metadata.userinfo_endpoint or not access_token:
            return dict(payload)
        response = provider.send(
            "GET",
            self.metadata.userinfo_endpoint,
            headers={"Authorization": f"Bearer {access_token}"},
        )

        if response.status_code in (401, 403):
            raise SignInFailed(
                f"The identity provider's userinfo endpoint rejected its own access "
                f"token (HTTP {response.status_code}). Start again."
            )
        content_type = response.headers.get("Content-Type", "")
        if response.status_code != 200 or not content_type.startswith(
            "application/json"
        ):
            raise provider.ProviderUnavailable(
                f"The userinfo endpoint responded with HTTP {response.status_code} "
                f"with {content_type or 'no content type'}."
            )
        userinfo = provider.json_object(response)
        if userinfo is None:
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
            user = self.save_user(claims, identity, admitted)
        except admission.SignInRejected as rejection:
            logger.warning(
                "Single sign-on rejected %r (subject %r): %s",
                rejection.identity or identity,
                claims["sub"],
                rejection.message,
            )
            self.withdraw_rights(claims)
            raise
        logger.info(
            "Single sign-on admitted %r as user %r, by %s.",
            identity,
            user.get_username(),
            admitted.reason,
        )
        return user

    def save_user(self, claims, identity, admitted):
        """Find or create the person's account, and set its rights."""
        try:
            with transaction.atomic():
                user = self.find_or_create_user(claims, identity)
                self.apply(user, admitted, claims)
        except IntegrityError:
            # Another request made the same account or link first, in a
            # sign-in that finished at the same moment: use what it made.
            with transaction.atomic():
                user = self.find_or_create_user(claims, identity)
                self.apply(user, admitted, claims)
        return user

    def withdraw_rights(self, claims):
        """
        Take staff, superuser and the mapped groups from the account linked to
        a person whom the provider no longer admits, so that its password and
        its open sessions no longer reach the admin.
        """
        link = (
            SingleSignOnIdentity.objects.select_related("user")
            .filter(issuer=self.metadata.issuer, subject=claims["sub"])
            .first()
        )
        if link is None or not (link.user.is_staff or link.user.is_superuser):
            return
        user = link.user
        withdraw_admin_rights(user)
        logger.warning(
            "Single sign-on took staff rights from user %r: the provider's claims "
            "no longer admit them.",
            user.get_username(),
        )

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
        link.email = admission.claimed_email(claims)
        link.last_sign_in_at = timezone.now()
        link.save()
        return user

    def find_user_by_email(self, claims):
        """Find an account made earlier, with a password, for the same person."""
        email = admission.verified_email(claims)
        if not email:
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
        # Only an address the provider verified names the account, so that no
        # person can take another person's address as their username.
        email = admission.verified_email(claims)
        username = email if len(email) <= 150 and USERNAME.fullmatch(email) else ""
        if not username or self.UserModel.objects.filter(username=username).exists():
            digest = hashlib.sha256(
                f"{self.metadata.issuer} {claims['sub']}".encode()
            ).hexdigest()
            username = f"sso-{digest[:20]}"
            # Taken when an earlier link to this subject was deleted in the
            # admin and its account kept.
            taken_usernames = set(
                self.UserModel.objects.filter(
                    username__startswith=username
                ).values_list("username", flat=True)
            )
            suffix = 1
            while username in taken_usernames:
                suffix += 1
                username = f"sso-{digest[:20]}-{suffix}"
        user = self.UserModel(username=username, email=email)
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
                setattr(user, field, UNSTORABLE_CHARACTERS.sub("", claims[claim])[:150])
        email = admission.verified_email(claims)
        if email:
            user.email = email
        user.save()

        managed = sso_managed_groups()
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
