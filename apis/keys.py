"""
Signing keys: generation, staged rotation, revocation, encryption at rest, and
the key ring of a process.

Each process keeps the keys it has loaded, with private keys parsed once, so
signing and verifying tokens makes no database query. A rotation or a
revocation writes a new version stamp to the shared cache. Every process reads
the stamp at most every `VERSION_CHECK_SECONDS` and reloads when it changed.
Without the stamp (a cache that is not shared, or that lost it) the ring still
reloads every `REFRESH_SECONDS`. A token that names an unknown key id also
reloads the ring, at most once per `UNKNOWN_KID_COOLDOWN_SECONDS`, so made-up
key ids cannot drive one query per request.
"""

import base64
import hashlib
import json
import logging
import os
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from apis.models import KeyEvent, SigningAlgorithm, SigningKey
from scopes.exceptions import KeysUnavailable
from scopes.keys import VerificationKey

logger = logging.getLogger(__name__)

RSA_KEY_BITS = 2048
HMAC_SECRET_BYTES = 32
REFRESH_SECONDS = 300
VERSION_CHECK_SECONDS = 1
UNKNOWN_KID_COOLDOWN_SECONDS = 10
# After a failed load, the ring keeps its keys and tries again this much later.
RETRY_AFTER_FAILURE_SECONDS = 5
VERSION_CACHE_KEY = "gatehouse:signing-keys:version"

_ENCRYPTION_KEY_SALT = "gatehouse.apis.keys.private_key_encryption"
_ENCRYPTION_VERSION = "v1"
_PUBLISHED_STATES = [
    SigningKey.State.NEXT,
    SigningKey.State.CURRENT,
    SigningKey.State.PREVIOUS,
]


class SigningKeyUnavailable(Exception):
    """No usable signing key: the stored one cannot be decrypted."""


class KeyStateError(Exception):
    """A rotation or revocation that the keys' states do not allow."""


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# RFC 7638 section 3.2: the members of each key type that a thumbprint hashes.
_THUMBPRINT_MEMBERS = {"RSA": ["e", "kty", "n"], "EC": ["crv", "kty", "x", "y"]}
_THUMBPRINT_MEMBERS["OKP"] = ["crv", "kty", "x"]  # RFC 8037 section 2


def jwk_thumbprint(jwk):
    """Return the RFC 7638 SHA-256 thumbprint of a public JWK."""
    members = {name: jwk[name] for name in _THUMBPRINT_MEMBERS[jwk["kty"]]}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True)
    return _b64url(hashlib.sha256(canonical.encode("ascii")).digest())


# Encryption at rest.


def _derived_key(secret_key):
    return salted_hmac(
        _ENCRYPTION_KEY_SALT, "private keys", secret=secret_key, algorithm="sha256"
    ).digest()


def _encryption_keys():
    """Return the key-encryption keys to try, the one that encrypts first."""
    configured = [
        settings.GATEHOUSE_KEY_ENCRYPTION_KEY,
        *settings.GATEHOUSE_KEY_ENCRYPTION_KEY_FALLBACKS,
    ]
    keys = [_b64url_decode(value) for value in configured if value]
    # Development installations, and keys stored before a key-encryption key
    # was configured, use a key derived from SECRET_KEY.
    keys += [
        _derived_key(secret_key)
        for secret_key in [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
    ]
    return keys


def encrypt_private_key(material, kid):
    """Encrypt key material with AES-256-GCM, bound to its key id."""
    nonce = os.urandom(12)
    ciphertext = AESGCM(_encryption_keys()[0]).encrypt(
        nonce, material, kid.encode("ascii")
    )
    return f"{_ENCRYPTION_VERSION}.{_b64url(nonce + ciphertext)}"


def decrypt_private_key(encrypted, kid):
    """Decrypt `encrypted` with the first key-encryption key that fits."""
    version, _, payload = encrypted.partition(".")
    if version != _ENCRYPTION_VERSION:
        raise SigningKeyUnavailable(f"Signing key {kid} has an unknown format.")
    data = _b64url_decode(payload)
    nonce, ciphertext = data[:12], data[12:]
    for key in _encryption_keys():
        try:
            return AESGCM(key).decrypt(nonce, ciphertext, kid.encode("ascii"))
        except InvalidTag:
            continue
    raise SigningKeyUnavailable(
        f"Signing key {kid} cannot be decrypted with GATEHOUSE_KEY_ENCRYPTION_KEY, "
        f"its fallbacks, or SECRET_KEY. Restore the key it was encrypted under."
    )


# Generation.


def _generate_material(algorithm):
    """Return (public JWK without kid and alg, private key PEM) for `algorithm`."""
    if algorithm in {SigningAlgorithm.RS256, SigningAlgorithm.PS256}:
        private_key = rsa.generate_private_key(
            public_exponent=65537, key_size=RSA_KEY_BITS
        )
        public = RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    elif algorithm == SigningAlgorithm.ES256:
        private_key = ec.generate_private_key(ec.SECP256R1())
        public = ECAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    elif algorithm == SigningAlgorithm.EDDSA:
        private_key = ed25519.Ed25519PrivateKey.generate()
        public = OKPAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    else:
        raise ValueError(f"{algorithm} has no key pair.")
    members = {name: public[name] for name in _THUMBPRINT_MEMBERS[public["kty"]]}
    pem = private_key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    return members, pem


def create_signing_key(algorithm, state, actor, api=None):
    """Create and store a key of `algorithm` in `state`; return (key, secret)."""
    if algorithm == SigningAlgorithm.HS256:
        secret = secrets.token_bytes(HMAC_SECRET_BYTES)
        kid = f"hs256-{secrets.token_urlsafe(12)}"
        material, public_jwk = secret, {}
    else:
        public, material = _generate_material(algorithm)
        kid = jwk_thumbprint(public)
        public_jwk = {**public, "kid": kid, "use": "sig", "alg": algorithm}
        secret = None
    now = timezone.now()
    signing_key = SigningKey.objects.create(
        kid=kid,
        algorithm=algorithm,
        state=state,
        api=api,
        public_jwk=public_jwk,
        encrypted_private_key=encrypt_private_key(material, kid),
        activated_at=now if state == SigningKey.State.CURRENT else None,
    )
    KeyEvent.objects.create(
        kid=kid, algorithm=algorithm, action=KeyEvent.Action.CREATED, actor=actor
    )
    logger.info("Created %s signing key %s as %s", algorithm, kid, state)
    return signing_key, secret


def ensure_signing_keys(algorithm=SigningAlgorithm.RS256, actor="bootstrap", api=None):
    """
    Return the current key of `algorithm`, creating it (and a next key for a
    public algorithm) when there is none. Safe when processes race: the
    database's constraints let one of them win.
    """
    keys = SigningKey.objects.filter(algorithm=algorithm, api=api)
    current = keys.filter(state=SigningKey.State.CURRENT).first()
    if current is not None:
        return current
    try:
        with transaction.atomic():
            current, _ = create_signing_key(
                algorithm, SigningKey.State.CURRENT, actor, api
            )
            if api is None:
                create_signing_key(algorithm, SigningKey.State.NEXT, actor)
    except IntegrityError:
        return keys.get(state=SigningKey.State.CURRENT)
    publish_new_version()
    return current


def ensure_signing_key():
    """Return the current RS256 key, creating the first keys if needed."""
    return ensure_signing_keys(SigningAlgorithm.RS256)


# Rotation and revocation.


def _read_version():
    try:
        return cache.get(VERSION_CACHE_KEY)
    except Exception as error:
        # Each cache backend raises its own client's errors. Without the
        # stamp, the ring still reloads every REFRESH_SECONDS.
        logger.warning("Cannot read the key version stamp: %s", error)
        return None


def publish_new_version():
    """Tell every process, through the shared cache, that the keys changed."""
    try:
        cache.set(VERSION_CACHE_KEY, uuid.uuid4().hex, timeout=None)
    except Exception as error:
        logger.error(
            "Cannot publish the key version stamp; other processes apply the "
            "change within %s s: %s",
            REFRESH_SECONDS,
            error,
        )
    # This process applies the change at once, without waiting for the stamp.
    key_ring.clear()


def _retire(key, actor):
    """Make a current key previous: it verifies, and signs no more."""
    key.state = SigningKey.State.PREVIOUS
    key.retired_at = timezone.now()
    key.save(update_fields=["state", "retired_at"])
    KeyEvent.objects.create(
        kid=key.kid,
        algorithm=key.algorithm,
        action=KeyEvent.Action.RETIRED,
        actor=actor,
    )


def rotate(algorithm, actor, *, force=False):
    """
    Make the next key current, the current key previous, and create a new next
    key, for the public `algorithm`. Without `force`, refuse while the next key
    is younger than the JWKS cache lifetime, since resource servers may not
    have fetched it yet. Return the new current key.
    """
    rows = SigningKey.objects.select_for_update().filter(
        algorithm=algorithm,
        api=None,
        state__in=[SigningKey.State.CURRENT, SigningKey.State.NEXT],
    )
    with transaction.atomic():
        # The first query waits for a rotation under way to commit; the second,
        # a new statement, then reads the keys that rotation left.
        list(rows)
        keys = {key.state: key for key in rows.all()}
        next_key = keys.get(SigningKey.State.NEXT)
        current = keys.get(SigningKey.State.CURRENT)
        if next_key is None:
            raise KeyStateError(f"No next {algorithm} key to rotate to.")
        age = (timezone.now() - next_key.created_at).total_seconds()
        wait = settings.GATEHOUSE_JWKS_MAX_AGE_SECONDS
        if not force and age < wait:
            raise KeyStateError(
                f"The next {algorithm} key was published {int(age)} s ago; resource "
                f"servers may cache the JWKS for {wait} s. Wait, or force."
            )

        if current is not None:
            _retire(current, actor)
        next_key.state = SigningKey.State.CURRENT
        next_key.activated_at = timezone.now()
        next_key.save(update_fields=["state", "activated_at"])
        KeyEvent.objects.create(
            kid=next_key.kid,
            algorithm=algorithm,
            action=KeyEvent.Action.ACTIVATED,
            actor=actor,
        )
        create_signing_key(algorithm, SigningKey.State.NEXT, actor)
    publish_new_version()
    logger.info("Rotated %s keys: %s now signs", algorithm, next_key.kid)
    return next_key


def rotate_secret(api, actor):
    """
    Give `api` a new HS256 secret: the current one becomes previous, so tokens
    it signed stay valid until revoked. Return the new key and its secret,
    which is not stored in clear and cannot be shown again.
    """
    with transaction.atomic():
        for key in SigningKey.objects.select_for_update().filter(
            algorithm=SigningAlgorithm.HS256, api=api, state=SigningKey.State.CURRENT
        ):
            _retire(key, actor)
        key, secret = create_signing_key(
            SigningAlgorithm.HS256, SigningKey.State.CURRENT, actor, api=api
        )
    publish_new_version()
    return key, secret


def revoke(kid, actor):
    """
    Revoke the previous key `kid`: out of the JWKS and of verification at once,
    its private half erased, so it can never sign or verify again.
    """
    with transaction.atomic():
        key = SigningKey.objects.select_for_update().filter(kid=kid).first()
        if key is None:
            raise KeyStateError(f"No signing key has the id {kid!r}.")
        if key.state == SigningKey.State.REVOKED:
            raise KeyStateError(f"The key {kid} is already revoked.")
        if key.state != SigningKey.State.PREVIOUS:
            how = (
                "rotate the API's HS256 secret first"
                if key.algorithm == SigningAlgorithm.HS256
                else "rotate first, so another key signs"
            )
            raise KeyStateError(
                f"The key {kid} is {key.state}; only a previous key can be "
                f"revoked: {how}."
            )
        key.state = SigningKey.State.REVOKED
        key.revoked_at = timezone.now()
        key.encrypted_private_key = ""
        key.save(update_fields=["state", "revoked_at", "encrypted_private_key"])
        KeyEvent.objects.create(
            kid=kid,
            algorithm=key.algorithm,
            action=KeyEvent.Action.REVOKED,
            actor=actor,
        )
    publish_new_version()
    logger.warning("Revoked signing key %s", kid)
    return key


def reencrypt_all(actor):
    """Encrypt every stored key again under the current key-encryption key."""
    count = 0
    with transaction.atomic():
        for key in SigningKey.objects.select_for_update().exclude(
            encrypted_private_key=""
        ):
            material = decrypt_private_key(key.encrypted_private_key, key.kid)
            key.encrypted_private_key = encrypt_private_key(material, key.kid)
            key.save(update_fields=["encrypted_private_key"])
            KeyEvent.objects.create(
                kid=key.kid,
                algorithm=key.algorithm,
                action=KeyEvent.Action.REENCRYPTED,
                actor=actor,
            )
            count += 1
    return count


# The key ring of a process.


@dataclass
class LoadedKey:
    kid: str
    algorithm: str
    state: str
    api_id: int | None
    api_identifier: str | None
    public_jwk: dict
    encrypted_private_key: str = field(repr=False)
    public_key: Any = field(repr=False)
    _private_key: Any = field(default=None, repr=False)

    @property
    def private_key(self):
        # Decrypted and parsed on first use, then kept for the process's life.
        if self._private_key is None:
            material = decrypt_private_key(self.encrypted_private_key, self.kid)
            if self.algorithm == SigningAlgorithm.HS256:
                self._private_key = material
            else:
                self._private_key = serialization.load_pem_private_key(
                    material, password=None
                )
        return self._private_key


def _public_key(row):
    algorithm = row["algorithm"]
    if algorithm == SigningAlgorithm.HS256:
        return None  # The secret is the verification key; see `verification_key`.
    if algorithm in {SigningAlgorithm.RS256, SigningAlgorithm.PS256}:
        return RSAAlgorithm.from_jwk(row["public_jwk"])
    if algorithm == SigningAlgorithm.ES256:
        return ECAlgorithm.from_jwk(row["public_jwk"])
    return OKPAlgorithm.from_jwk(row["public_jwk"])


class KeyRing:
    """The signing keys of this process, loaded from the database."""

    def __init__(self):
        self._lock = threading.Lock()
        self.clear()

    def clear(self):
        """Forget every key, so the next use reloads them."""
        with self._lock:
            self._keys = {}
            self._loaded_at = None
            self._version = None
            self._version_checked_at = None
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
        if key.algorithm == SigningAlgorithm.HS256:
            try:
                secret = key.private_key
            except SigningKeyUnavailable:
                logger.exception("Cannot use HS256 key %s to verify", kid)
                return None
            return VerificationKey(key.kid, key.algorithm, secret, key.api_identifier)
        return VerificationKey(key.kid, key.algorithm, key.public_key)

    def signing_key(self, algorithm=SigningAlgorithm.RS256, api=None):
        """Return the current `LoadedKey` of `algorithm`, creating keys if needed."""
        api_id = api.pk if algorithm == SigningAlgorithm.HS256 and api else None
        self._ensure_fresh()
        key = self._current(algorithm, api_id)
        if key is None:
            ensure_signing_keys(
                algorithm, actor="first use", api=api if api_id else None
            )
            self._load()
            key = self._current(algorithm, api_id)
        return key

    def public_jwks(self):
        """Return the JWK Set of the next, current and previous public keys."""
        self.signing_key()
        return {
            "keys": [
                dict(key.public_jwk)
                for key in self._keys.values()
                if key.algorithm != SigningAlgorithm.HS256
            ]
        }

    def _current(self, algorithm, api_id):
        for key in self._keys.values():
            if (
                key.algorithm == algorithm
                and key.state == SigningKey.State.CURRENT
                and key.api_id == api_id
            ):
                return key
        return None

    def _ensure_fresh(self):
        now = time.monotonic()
        loaded_at = self._loaded_at
        if loaded_at is None or now - loaded_at > REFRESH_SECONDS:
            self._load()
            return
        checked_at = self._version_checked_at
        if checked_at is not None and now - checked_at < VERSION_CHECK_SECONDS:
            return
        self._version_checked_at = now
        version = _read_version()
        if version is not None and version != self._version:
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
        """Load the keys; on a database failure keep those already loaded."""
        try:
            self._load_from_database()
        except DatabaseError as error:
            if not self._keys:
                logger.error("Cannot load the signing keys: %s", error)
                raise KeysUnavailable() from error
            logger.warning("Cannot reload the signing keys, keeping them: %s", error)
            retry_at = time.monotonic() + RETRY_AFTER_FAILURE_SECONDS
            self._loaded_at = retry_at - REFRESH_SECONDS
            self._version_checked_at = retry_at

    def _load_from_database(self):
        version = _read_version()
        rows = SigningKey.objects.filter(state__in=_PUBLISHED_STATES).values(
            "kid",
            "algorithm",
            "state",
            "api_id",
            "api__identifier",
            "public_jwk",
            "encrypted_private_key",
        )
        with self._lock:
            keys = {}
            for row in rows:
                known = self._keys.get(row["kid"])
                if known is not None:
                    # Keep the parsed private key; only the state may change.
                    known.state = row["state"]
                    keys[row["kid"]] = known
                    continue
                keys[row["kid"]] = LoadedKey(
                    kid=row["kid"],
                    algorithm=row["algorithm"],
                    state=row["state"],
                    api_id=row["api_id"],
                    api_identifier=row["api__identifier"],
                    public_jwk=row["public_jwk"],
                    encrypted_private_key=row["encrypted_private_key"],
                    public_key=_public_key(row),
                )
            self._keys = keys
            self._version = version
            self._loaded_at = time.monotonic()
            self._version_checked_at = self._loaded_at


key_ring = KeyRing()


def find_verification_key(kid):
    """Find the key for `kid`: the KEY_PROVIDER of `scopes` for Gatehouse's tokens."""
    return key_ring.verification_key(kid)
