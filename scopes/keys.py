from typing import Any, NamedTuple


class VerificationKey(NamedTuple):
    """
    A key that verifies tokens, pinned to exactly one algorithm.

    A shared secret (HMAC) belongs to one API: `audience` then names it, and
    the key verifies only tokens whose `aud` is exactly that API, so a secret
    that one resource server has cannot forge tokens for another.
    """

    kid: str
    algorithm: str
    key: Any
    audience: str | None = None
