"""Tokens at rest: Fernet (AES-128-CBC + HMAC-SHA256) under a key ring from config.

`FLATTR_TOKEN_KEYS` holds comma-separated Fernet keys: the first encrypts, every one of them
decrypts, so a key is rotated by putting a new key first and keeping the old ones until
`reseal` has rewritten every row. With no key configured:
- `networks = "live"`: refused (ConfigError) -- a live deployment must configure its keys;
- `networks = "sandbox"`: a key is generated once into a local file next to the SQLite
  database (`<db>.token-key`), or `./flattr-token.key` for other databases, mode 0600.
  That file is the key: delete it and the sandbox tokens stored with it are unreadable.

Plaintext tokens are never logged, and error messages never include them.
"""

from __future__ import annotations

import os
import time
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from config import ConfigError, Settings

LOCAL_KEY_SUFFIX = ".token-key"
FALLBACK_KEY_FILE = "flattr-token.key"


class TokenUnreadable(ValueError):
    """A stored token that no configured key opens (wrong key, or tampered with)."""


def seal(settings: Settings, plaintext: str) -> str:
    """Encrypt a token for storage (ASCII ciphertext, safe for a Text column)."""
    return key_ring(settings).encrypt(plaintext.encode("utf-8")).decode("ascii")


def open_sealed(settings: Settings, ciphertext: str) -> str:
    """Decrypt a stored token with any configured key."""
    try:
        return key_ring(settings).decrypt(ciphertext.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, ValueError):
        raise TokenUnreadable("a stored token could not be decrypted with the configured "
                              "keys (FLATTR_TOKEN_KEYS)") from None


def reseal(settings: Settings, ciphertext: str) -> str:
    """Re-encrypt under the first (newest) key: what key rotation runs over every row."""
    try:
        return key_ring(settings).rotate(ciphertext.encode("ascii")).decode("ascii")
    except (InvalidToken, ValueError):
        raise TokenUnreadable("a stored token could not be re-encrypted") from None


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def key_ring(settings: Settings) -> MultiFernet:
    return _ring(tuple(configured_keys(settings)))


def configured_keys(settings: Settings) -> list[str]:
    if settings.token_keys:
        keys = [k.strip() for k in settings.token_keys.split(",") if k.strip()]
        if keys:
            return keys
    if settings.networks == "live":
        raise ConfigError(["FLATTR_TOKEN_KEYS: required when FLATTR_NETWORKS=live "
                           "(generate one with `flattr web genkey`)"])
    return [_local_key(local_key_path(settings.database_url))]


def local_key_path(database_url: str) -> Path:
    """Where sandbox mode keeps its generated key."""
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        return Path(database_url.removeprefix("sqlite:///") + LOCAL_KEY_SUFFIX)
    return Path(FALLBACK_KEY_FILE)


@lru_cache(maxsize=16)
def _ring(keys: tuple[str, ...]) -> MultiFernet:
    try:
        return MultiFernet([Fernet(k.encode("ascii")) for k in keys])
    except (ValueError, UnicodeError):
        raise ConfigError(["FLATTR_TOKEN_KEYS: each key must be 32 url-safe base64-encoded "
                           "bytes (generate one with `flattr web genkey`)"]) from None


def _local_key(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = generate_key()
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process created it first: use theirs
        for _ in range(50):
            if key := path.read_text().strip():
                return key
            time.sleep(0.02)
        raise ConfigError([f"sandbox token key file {path} is empty: delete it"]) from None
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")
    return key
