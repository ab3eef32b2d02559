from typing import Any, NamedTuple


class VerificationKey(NamedTuple):
    """A public key that verifies tokens, pinned to exactly one algorithm."""

    kid: str
    algorithm: str
    key: Any
