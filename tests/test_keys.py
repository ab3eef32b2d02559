import pytest
from cryptography.hazmat.primitives import serialization

from apis import keys
from apis.keys import (
    SigningKeyUnavailable,
    decrypt_private_key,
    encrypt_private_key,
    generate_signing_key,
    key_ring,
)
from apis.models import SigningKey


def test_private_key_stored_encrypted(db):
    signing_key = generate_signing_key()
    stored = SigningKey.objects.get(pk=signing_key.pk).encrypted_private_key
    assert stored.startswith("v1.")
    assert "PRIVATE KEY" not in stored


def test_private_key_round_trip(db):
    signing_key = generate_signing_key()
    pem = decrypt_private_key(signing_key.encrypted_private_key, signing_key.kid)
    private_key = serialization.load_pem_private_key(pem, password=None)
    assert private_key.key_size == 2048


def test_encryption_bound_to_kid():
    encrypted = encrypt_private_key(b"pem", "kid-a")
    with pytest.raises(SigningKeyUnavailable):
        decrypt_private_key(encrypted, "kid-b")


def test_encryption_under_fallback_secret_key(settings):
    settings.SECRET_KEY = "old-secret-key-" + "x" * 40
    encrypted = encrypt_private_key(b"pem", "kid")
    settings.SECRET_KEY = "new-secret-key-" + "y" * 40
    settings.SECRET_KEY_FALLBACKS = ["old-secret-key-" + "x" * 40]
    assert decrypt_private_key(encrypted, "kid") == b"pem"


def test_encryption_under_lost_secret_key(settings):
    settings.SECRET_KEY = "old-secret-key-" + "x" * 40
    encrypted = encrypt_private_key(b"pem", "kid")
    settings.SECRET_KEY = "new-secret-key-" + "y" * 40
    with pytest.raises(SigningKeyUnavailable, match="SECRET_KEY"):
        decrypt_private_key(encrypted, "kid")


def test_private_key_parsed_once(db, monkeypatch):
    key_ring.signing_key().private_key  # noqa: B018
    calls = []
    original = serialization.load_pem_private_key

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(serialization, "load_pem_private_key", counting)
    for _ in range(3):
        key_ring.signing_key().private_key  # noqa: B018
    key_ring._load()
    key_ring.signing_key().private_key  # noqa: B018
    assert calls == []


def test_signing_key_newest_wins(db):
    generate_signing_key()
    newest = generate_signing_key()
    key_ring.clear()
    assert key_ring.signing_key().kid == newest.kid


def test_key_ring_refreshes_after_interval(db, monkeypatch):
    first = key_ring.signing_key().kid
    newest = generate_signing_key()
    assert key_ring.signing_key().kid == first
    monkeypatch.setattr(keys, "REFRESH_SECONDS", -1)
    assert key_ring.signing_key().kid == newest.kid


def test_unknown_kid_reload_finds_new_key(db):
    key_ring.signing_key()
    newest = generate_signing_key()
    assert key_ring.verification_key(newest.kid) is not None


def test_verification_key_pinned_algorithm(db):
    kid = key_ring.signing_key().kid
    assert key_ring.verification_key(kid).algorithm == "RS256"
