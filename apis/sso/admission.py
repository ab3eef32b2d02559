"""
Admission to the admin by single sign-on, and the rights that come with it.

The decision reads only the provider's claims and the settings, and writes
nothing, so a rejected person leaves no account behind.
"""

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.validators import validate_email


class SignInRejected(Exception):
    """The provider authenticated this person, but the settings do not admit them."""

    def __init__(self, message, identity=""):
        super().__init__(message)
        self.message = message
        self.identity = identity


@dataclass(frozen=True)
class Admission:
    reason: str
    # Names of the Django groups the person belongs in, from GROUP_MAP.
    groups: frozenset
    # None when SUPERUSER_GROUPS is not set: sign-in leaves the flag alone.
    superuser: bool | None


def provider_groups(claims, claim):
    """
    Return the groups in `claim`, a list of strings or one string. A dotted name
    reaches into objects, as in Keycloak's `realm_access.roles`, unless a claim
    has the whole name, as Auth0's namespaced claims do.
    """
    value = claims.get(claim)
    if value is None and "." in claim:
        value = claims
        for part in claim.split("."):
            value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def claimed_email(claims):
    """Return the `email` claim when it is a valid address, verified or not."""
    email = claims.get("email")
    # Quoted local parts, which may hold control characters, and lone
    # surrogates, which cannot be stored or shown, are not taken.
    if (
        not isinstance(email, str)
        or len(email) > 254
        or not email.isprintable()
        or '"' in email
    ):
        return ""
    try:
        validate_email(email)
    except ValidationError:
        return ""
    return email


def is_verified(claims):
    # Some providers send the boolean as a string.
    return claims.get("email_verified") in (True, "true")


def verified_email(claims):
    """Return the `email` claim when it is valid and the provider verified it."""
    return claimed_email(claims) if is_verified(claims) else ""


def email_domain(email):
    return email.rpartition("@")[2].lower() if email else ""


def describe(claims):
    return claimed_email(claims) or f"subject {claims['sub']}"


def decide(claims, config):
    """Return the Admission for these claims, or raise SignInRejected."""
    identity = describe(claims)
    groups = provider_groups(claims, config["GROUPS_CLAIM"])
    admitting = [
        group
        for group in groups
        if group in config["ALLOWED_GROUPS"] or group in config["SUPERUSER_GROUPS"]
    ]
    domain = email_domain(claimed_email(claims))
    if admitting:
        reason = f"group {admitting[0]}"
    elif domain and domain in config["ALLOWED_DOMAINS"]:
        if config["REQUIRE_VERIFIED_EMAIL"] and not is_verified(claims):
            raise SignInRejected(
                f"The identity provider has not verified the email address "
                f"{identity}, so it cannot admit you by its domain.",
                identity,
            )
        reason = f"email domain {domain}"
    else:
        raise SignInRejected(
            f"{identity} is not allowed into this admin: neither its email domain "
            "nor its groups are on the list. Ask an administrator for access.",
            identity,
        )
    mapped = frozenset(
        name for group in groups for name in config["GROUP_MAP"].get(group, ())
    )
    superuser = None
    if config["SUPERUSER_GROUPS"]:
        superuser = any(group in config["SUPERUSER_GROUPS"] for group in groups)
    return Admission(reason=reason, groups=mapped, superuser=superuser)
