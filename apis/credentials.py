"""
Client ids and secrets, and the keyed hash that stores secrets.

A client secret is 384 random bits, so a keyed hash (HMAC-SHA256 under a key
derived from SECRET_KEY) is enough to store it. Key stretching such as PBKDF2,
which Django's password hashers use, protects guessable human passwords; for a
random secret it would only add hundreds of milliseconds to every token
request.
"""

import secrets
import string

from django.conf import settings
from django.utils.crypto import constant_time_compare, salted_hmac

_KEY_SALT = "gatehouse.apis.credentials.client_secret"
_SCHEME = "hmac-sha256"


_CLIENT_ID_ALPHABET = string.ascii_letters + string.digits
_CLIENT_ID_LENGTH = 32


def generate_client_id():
    """
    Return a client id of 32 letters and digits: about 190 random bits.

    No punctuation, so an id never starts with "-" and passes as a command
    line argument or in a URL without quoting.
    """
    return "".join(
        secrets.choice(_CLIENT_ID_ALPHABET) for _ in range(_CLIENT_ID_LENGTH)
    )


def generate_client_secret():
    """Return a URL-safe client secret of 384 random bits."""
    return secrets.token_urlsafe(48)


def hash_client_secret(secret, *, secret_key=None):
    digest = salted_hmac(
        _KEY_SALT, secret, secret=secret_key or settings.SECRET_KEY, algorithm="sha256"
    ).hexdigest()
    return f"{_SCHEME}${digest}"


def verify_client_secret(secret, stored_hash):
    """
    Check `secret` against `stored_hash` in constant time.

    Hashes made under a key in SECRET_KEY_FALLBACKS still verify, so rotating
    SECRET_KEY does not lock clients out.
    """
    matched = False
    for key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        candidate = hash_client_secret(secret, secret_key=key)
        matched |= constant_time_compare(candidate, stored_hash or "")
    return matched
