"""
Signing keys: generation, encryption at rest, and the key ring of a process.

Each process keeps the keys it has loaded, with private keys parsed once, so
signing and verifying tokens makes no database query. The ring reloads after
`REFRESH_SECONDS`, and early when a token names a key id it does not hold, at
most once per `UNKNOWN_KID_COOLDOWN_SECONDS` so that made-up key ids cannot
drive one query per request.
"""

import base64
import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.utils.crypto import salted_hmac
from jwt.algorithms import RSAAlgorithm

from apis.models import SigningKey
from scopes.keys import VerificationKey

logger = logging.getLogger(__name__)

RSA_KEY_BITS = 2048
REFRESH_SECONDS = 300
UNKNOWN_KID_COOLDOWN_SECONDS = 10

_ENCRYPTION_KEY_SALT = "gatehouse.apis.keys.private_key_encryption"
_ENCRYPTION_VERSION = "v1"


class SigningKeyUnavailable(Exception):
    """No usable signing key: the stored one cannot be decrypted."""


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def rsa_thumbprint(jwk):
    """Return the RFC 7638 SHA-256 thumbprint of an RSA public JWK."""
    members = {"e": jwk["e"], "kty": "RSA", "n": jwk["n"]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


def _encryption_key(secret_key):
    # AES-256 key derived from SECRET_KEY; a dedicated key-encryption key can
    # replace it without changing the stored format.
    return salted_hmac(
        _ENCRYPTION_KEY_SALT, "private keys", secret=secret_key, algorithm="sha256"
    ).digest()


def encrypt_private_key(pem, kid):
    """Encrypt a PEM private key with AES-GCM, bound to its key id."""
    nonce = os.urandom(12)
    ciphertext = AESGCM(_encryption_key(settings.SECRET_KEY)).encrypt(
        nonce, pem, kid.encode("ascii")
    )
    return f"{_ENCRYPTION_VERSION}.{_b64url(nonce + ciphertext)}"


def decrypt_private_key(encrypted, kid):
    """Decrypt `encrypted`, trying SECRET_KEY and then SECRET_KEY_FALLBACKS."""
    version, _, payload = encrypted.partition(".")
    if version != _ENCRYPTION_VERSION:
        raise SigningKeyUnavailable(f"Signing key {kid} has an unknown format.")
    data = _b64url_decode(payload)
    nonce, ciphertext = data[:12], data[12:]
    for secret_key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]:
        try:
            return AESGCM(_encryption_key(secret_key)).decrypt(
                nonce, ciphertext, kid.encode("ascii")
            )
        except InvalidTag:
            continue
    raise SigningKeyUnavailable(
        f"Signing key {kid} cannot be decrypted with SECRET_KEY or "
        f"SECRET_KEY_FALLBACKS. Restore the SECRET_KEY it was made under."
    )


def generate_signing_key():
    """Create and store a new RS256 key pair, and return its `SigningKey`."""
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=RSA_KEY_BITS)
    public = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    kid = rsa_thumbprint(public)
    public_jwk = {
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": public["n"],
        "e": public["e"],
    }
    pem = private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    signing_key = SigningKey.objects.create(
        kid=kid,
        algorithm="RS256",
        public_jwk=public_jwk,
        encrypted_private_key=encrypt_private_key(pem, kid),
    )
    logger.info("Generated signing key %s", kid)
    return signing_key


def ensure_signing_key():
    """Return the newest signing key, generating one when there is none."""
    signing_key = SigningKey.objects.order_by("-created_at", "-id").first()
    if signing_key is None:
        signing_key = generate_signing_key()
    return signing_key


@dataclass
class LoadedKey:
    kid: str
    algorithm: str
    public_jwk: dict
    encrypted_private_key: str = field(repr=False)
    public_key: Any = field(repr=False)
    _private_key: Any = field(default=None, repr=False)

    @property
    def private_key(self):
        # Parsed on first use and kept for the life of the process.
        if self._private_key is None:
            pem = decrypt_private_key(self.encrypted_private_key, self.kid)
            self._private_key = serialization.load_pem_private_key(pem, password=None)
        return self._private_key


class KeyRing:
    """The signing keys of this process, loaded from the database."""

    def __init__(self):
        self._lock = threading.Lock()
        self.clear()

    def clear(self):
        """Forget every key, so the next use reloads them."""
        with self._lock:
            self._keys = {}
            self._current = None
            self._loaded_at = None
            self._reloaded_for_unknown_kid_at = None

    def verification_key(self, kid):
        """Return the `VerificationKey` with id `kid`, or None."""
        self._ensure_fresh()
        key = self._keys.get(kid)
        if key is None and self._may_reload_for_unknown_kid():
            self._load()
            key = self._keys.get(kid)
        if key is None:
            return None
        return VerificationKey(key.kid, key.algorithm, key.public_key)

    def signing_key(self):
        """Return the `LoadedKey` that signs new tokens, creating one if needed."""
        self._ensure_fresh()
        if self._current is None:
            ensure_signing_key()
            self._load()
        return self._current

    def public_jwks(self):
        """Return the JWK Set of every key's public half."""
        self.signing_key()
        return {"keys": [dict(key.public_jwk) for key in self._keys.values()]}

    def _ensure_fresh(self):
        loaded_at = self._loaded_at
        if loaded_at is None or time.monotonic() - loaded_at > REFRESH_SECONDS:
            self._load()

    def _may_reload_for_unknown_kid(self):
        with self._lock:
            now = time.monotonic()
            last = self._reloaded_for_unknown_kid_at
            if last is not None and now - last < UNKNOWN_KID_COOLDOWN_SECONDS:
                return False
            self._reloaded_for_unknown_kid_at = now
            return True

    def _load(self):
        rows = SigningKey.objects.order_by("-created_at", "-id").values_list(
            "kid", "algorithm", "public_jwk", "encrypted_private_key"
        )
        with self._lock:
            keys = {}
            for kid, algorithm, public_jwk, encrypted_private_key in rows:
                known = self._keys.get(kid)
                if known is not None:
                    keys[kid] = known
                    continue
                keys[kid] = LoadedKey(
                    kid=kid,
                    algorithm=algorithm,
                    public_jwk=public_jwk,
                    encrypted_private_key=encrypted_private_key,
                    public_key=RSAAlgorithm.from_jwk(public_jwk),
                )
            self._keys = keys
            self._current = next(iter(keys.values()), None)
            self._loaded_at = time.monotonic()


key_ring = KeyRing()


def find_verification_key(kid):
    """Find the key for `kid`: the KEY_PROVIDER of `scopes` for Gatehouse's tokens."""
    return key_ring.verification_key(kid)
