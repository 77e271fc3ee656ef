"""Tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key ring of plain keys.

The first key encrypts, every key decrypts, so a key is rotated by putting a new key first
and keeping the old ones until `reseal` has rewritten every row. Where the keys come from
(FLATTR_TOKEN_KEYS, or the sandbox's generated key file) is runtime.keys' business: this
module takes plain key strings and never reads the configuration.

Plaintext tokens are never logged, and error messages never include them.
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenUnreadable(ValueError):
    """A stored token that no configured key opens (wrong key, or tampered with)."""


class InvalidKeys(ValueError):
    """No key, or a key that is not 32 url-safe base64-encoded bytes."""


class KeyRing:
    """Fernet keys, newest first: `seal` uses the first, `open` tries them all."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise InvalidKeys("no token key")
        try:
            self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])
        except (ValueError, UnicodeError):
            raise InvalidKeys("each key must be 32 url-safe base64-encoded bytes") from None
        self.first = keys[0]

    def __repr__(self) -> str:  # never show a key, even in a traceback
        return "KeyRing(...)"

    def seal(self, plaintext: str) -> str:
        """Encrypt a token for storage (ASCII ciphertext, safe for a Text column)."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def open(self, ciphertext: str) -> str:
        """Decrypt a stored token with any key of the ring."""
        try:
            return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")
        except (InvalidToken, UnicodeError, ValueError):
            raise TokenUnreadable("a stored token could not be decrypted with the configured "
                                  "keys (FLATTR_TOKEN_KEYS)") from None

    def reseal(self, ciphertext: str) -> str:
        """Re-encrypt under the first (newest) key: what key rotation runs over every row."""
        try:
            return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
        except (InvalidToken, ValueError):
            raise TokenUnreadable("a stored token could not be re-encrypted") from None


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")
