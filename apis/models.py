from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower

from apis import credentials
from apis.validators import validate_api_identifier, validate_display_name
from scopes.models import AbstractScope

MAX_TOKEN_LIFETIME_SECONDS = 30 * 24 * 60 * 60


class SigningAlgorithm(models.TextChoices):
    RS256 = "RS256", "RS256 (RSA 2048, PKCS#1 v1.5)"
    PS256 = "PS256", "PS256 (RSA 2048, PSS)"
    ES256 = "ES256", "ES256 (ECDSA P-256)"
    EDDSA = "EdDSA", "EdDSA (Ed25519)"
    HS256 = "HS256", "HS256 (a secret of this API's own)"


class API(models.Model):
    """A resource server: the audience of the tokens that Gatehouse issues."""

    class TokenProfile(models.TextChoices):
        AUTH0 = "auth0", "Auth0 (typ JWT)"
        RFC9068 = "rfc9068", "RFC 9068 (typ at+jwt)"

    name = models.CharField(max_length=200, validators=[validate_display_name])
    identifier = models.CharField(
        max_length=600,
        unique=True,
        validators=[validate_api_identifier],
        help_text=(
            "The audience (aud) of this API's tokens, usually its URL, such as "
            "https://api.example.com/. It cannot be changed later."
        ),
    )
    signing_algorithm = models.CharField(
        max_length=16,
        choices=SigningAlgorithm.choices,
        default=SigningAlgorithm.RS256,
        help_text=(
            "Applies to new tokens; tokens already issued stay valid until they "
            "expire. HS256 tokens can be verified only by holders of the API's "
            "secret, which is shown once."
        ),
    )
    token_lifetime_seconds = models.PositiveIntegerField(
        "token lifetime (seconds)",
        default=86400,
        validators=[
            MinValueValidator(1),
            MaxValueValidator(MAX_TOKEN_LIFETIME_SECONDS),
        ],
        help_text="How long an access token stays valid, from 1 to 2592000 (30 days).",
    )
    token_profile = models.CharField(
        max_length=16,
        choices=TokenProfile.choices,
        default=TokenProfile.RFC9068,
        help_text="The token header typ: JWT for Auth0 clients, at+jwt for RFC 9068.",
    )
    test_application = models.OneToOneField(
        "Application",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="tested_api",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "API"
        verbose_name_plural = "APIs"
        permissions = [("mint_test_token", "Can mint test tokens in the console")]
        constraints = [
            # Identifiers that differ only in case look alike in the admin and
            # in logs, so only one of them may exist.
            models.UniqueConstraint(
                Lower("identifier"),
                name="api_identifier_unique_ignoring_case",
                violation_error_message=(
                    "An API with this identifier, ignoring case, already exists."
                ),
            )
        ]

    def __str__(self):
        return self.name

    @property
    def token_type_header(self):
        """The JWT header `typ` for this API's token profile."""
        if self.token_profile == self.TokenProfile.AUTH0:
            return "JWT"
        return "at+jwt"


class Scope(AbstractScope):
    """A scope that one API defines and that its tokens may carry."""

    api = models.ForeignKey(
        API, on_delete=models.CASCADE, related_name="scopes", verbose_name="API"
    )

    class Meta:
        ordering = ["api", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["api", "value"], name="scope_value_unique_per_api"
            )
        ]


class Application(models.Model):
    """A machine-to-machine client that gets tokens with client credentials."""

    name = models.CharField(max_length=200, validators=[validate_display_name])
    description = models.TextField(max_length=1000, blank=True)
    client_id = models.CharField(
        max_length=64,
        unique=True,
        editable=False,
        default=credentials.generate_client_id,
    )
    # Only a keyed hash of the secret is stored; see `apis.credentials`.
    client_secret_hash = models.CharField(max_length=128, editable=False)
    active = models.BooleanField(
        default=True, help_text="Inactive applications cannot get tokens."
    )
    max_tokens_per_hour = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Tokens the endpoint may issue to it per hour; empty for no limit.",
    )
    max_tokens_per_day = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Tokens the endpoint may issue to it per day; empty for no limit.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def set_client_secret(self):
        """Give the application a new secret; return it, since it is not stored."""
        secret = credentials.generate_client_secret()
        self.client_secret_hash = credentials.hash_client_secret(secret)
        return secret

    def check_client_secret(self, secret):
        return credentials.verify_client_secret(secret, self.client_secret_hash)


class ClientGrant(models.Model):
    """An application's authorization to get tokens for one API."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="grants"
    )
    api = models.ForeignKey(
        API, on_delete=models.CASCADE, related_name="grants", verbose_name="API"
    )
    scopes = models.ManyToManyField(Scope, blank=True, related_name="grants")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["api__name", "application__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["application", "api"], name="one_grant_per_application_and_api"
            )
        ]

    def __str__(self):
        return f"{self.application} for {self.api}"


class SigningKey(models.Model):
    """
    A key that signs access tokens; the private half is encrypted at rest.

    Each algorithm has one current key (signs), one next key (published in the
    JWKS before it signs) and any number of previous keys (published, verify,
    no longer sign). A revoked key neither verifies nor returns. HS256 keys
    belong to one API and are never published.
    """

    class State(models.TextChoices):
        NEXT = "next", "Next (published, not yet signing)"
        CURRENT = "current", "Current (signing)"
        PREVIOUS = "previous", "Previous (verifying only)"
        REVOKED = "revoked", "Revoked"

    kid = models.CharField("key id", max_length=64, unique=True, editable=False)
    algorithm = models.CharField(
        max_length=16, choices=SigningAlgorithm.choices, editable=False
    )
    state = models.CharField(max_length=16, choices=State.choices, editable=False)
    api = models.ForeignKey(
        API,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        editable=False,
        related_name="secret_keys",
        verbose_name="API",
        help_text="The API whose HS256 secret this is; empty for public keys.",
    )
    public_jwk = models.JSONField(editable=False, default=dict)
    encrypted_private_key = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    retired_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["algorithm", "-created_at", "-id"]
        permissions = [
            ("rotate_signingkey", "Can rotate signing keys"),
            ("revoke_signingkey", "Can revoke signing keys"),
        ]
        constraints = [
            # The database, not the code, keeps one current and one next key
            # per algorithm, even when two processes rotate at once.
            models.UniqueConstraint(
                fields=["algorithm"],
                condition=models.Q(state="current", api__isnull=True),
                name="one_current_public_key_per_algorithm",
            ),
            models.UniqueConstraint(
                fields=["algorithm"],
                condition=models.Q(state="next", api__isnull=True),
                name="one_next_public_key_per_algorithm",
            ),
            models.UniqueConstraint(
                fields=["algorithm", "api"],
                condition=models.Q(state="current", api__isnull=False),
                name="one_current_secret_per_api",
            ),
        ]

    def __str__(self):
        return f"{self.algorithm} {self.kid} ({self.state})"


class KeyEvent(models.Model):
    """An audit record of a signing key's life: created, rotated, revoked."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        ACTIVATED = "activated", "Became current"
        RETIRED = "retired", "Became previous"
        REVOKED = "revoked", "Revoked"
        REENCRYPTED = "reencrypted", "Re-encrypted"

    kid = models.CharField("key id", max_length=64)
    algorithm = models.CharField(max_length=16)
    action = models.CharField(max_length=16, choices=Action.choices)
    actor = models.CharField(
        max_length=150, help_text="The admin user, or the command that acted."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.kid} {self.action}"


class TokenRecord(models.Model):
    """A token that Gatehouse issued: who, for what, until when; never the token."""

    class Source(models.TextChoices):
        ENDPOINT = "endpoint", "Token endpoint"
        CONSOLE = "console", "Admin console"
        COMMAND = "command", "mint_token command"

    jti = models.CharField("token id (jti)", max_length=64, unique=True)
    application = models.ForeignKey(
        Application, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    client_id = models.CharField(max_length=64)
    api = models.ForeignKey(
        API, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name="API"
    )
    audience = models.CharField(max_length=600)
    scopes = models.TextField(blank=True, help_text="Space-delimited.")
    source = models.CharField(max_length=16, choices=Source.choices)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
    )
    issued_at = models.DateTimeField(db_index=True)
    expires_at = models.DateTimeField()

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self):
        return self.jti


class TokenRequestFailure(models.Model):
    """A token request that the token endpoint refused; never its secret."""

    error = models.CharField(max_length=32)
    description = models.CharField(max_length=400)
    client_id = models.CharField(max_length=64, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.error} {self.client_id}"


class SingleSignOnIdentity(models.Model):
    """
    The account at an OpenID provider that signs in as a Django user.

    Sign-in finds the user by the provider's issuer and subject, which never
    change, rather than by email address, which can.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="sso_identities",
    )
    issuer = models.CharField(max_length=255)
    subject = models.CharField(max_length=255)
    email = models.EmailField(blank=True, help_text="As the provider last sent it.")
    created_at = models.DateTimeField(auto_now_add=True)
    last_sign_in_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "single sign-on identity"
        verbose_name_plural = "single sign-on identities"
        constraints = [
            models.UniqueConstraint(
                fields=["issuer", "subject"], name="unique_sso_subject"
            ),
            models.UniqueConstraint(
                fields=["issuer", "user"], name="unique_sso_user_per_issuer"
            ),
        ]

    def __str__(self):
        return f"{self.subject} at {self.issuer}"
