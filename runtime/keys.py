"""Settings -> the token key ring (core.crypto takes plain keys and never reads config).

`FLATTR_TOKEN_KEYS` holds comma-separated Fernet keys: the first encrypts, every one of them
decrypts. With no key configured:
- `networks = "live"`: refused (ConfigError) -- a live deployment must configure its keys;
- `networks = "sandbox"`: a key is generated once into a local file next to the SQLite
  database (`<db>.token-key`), or `./flattr-token.key` for other databases, mode 0600.
  That file is the key: delete it and the sandbox tokens stored with it are unreadable.
"""

from __future__ import annotations

import os
import time
from functools import lru_cache
from pathlib import Path

from config import ConfigError, Settings
from core.crypto import InvalidKeys, KeyRing, generate_key

LOCAL_KEY_SUFFIX = ".token-key"
FALLBACK_KEY_FILE = "flattr-token.key"


def key_ring(settings: Settings) -> KeyRing:
    """The ring for these settings; a bad or missing key is a ConfigError. The sandbox key
    file is read on each call (deleting it must lose the tokens, as documented)."""
    return _ring(tuple(configured_keys(settings)))


def configured_keys(settings: Settings) -> list[str]:
    if settings.token_keys:
        keys = [k.strip() for k in settings.token_keys.split(",") if k.strip()]
        if keys:
            return keys
    if settings.networks == "live":
        raise ConfigError(["FLATTR_TOKEN_KEYS: required when FLATTR_NETWORKS=live "
                           "(generate one with `flattr tokens genkey`)"])
    return [_local_key(local_key_path(settings.database_url))]


def local_key_path(database_url: str) -> Path:
    """Where sandbox mode keeps its generated key."""
    if database_url.startswith("sqlite:///") and ":memory:" not in database_url:
        return Path(database_url.removeprefix("sqlite:///") + LOCAL_KEY_SUFFIX)
    return Path(FALLBACK_KEY_FILE)


@lru_cache(maxsize=16)
def _ring(keys: tuple[str, ...]) -> KeyRing:
    try:
        return KeyRing(keys)
    except InvalidKeys:
        raise ConfigError(["FLATTR_TOKEN_KEYS: each key must be 32 url-safe base64-encoded "
                           "bytes (generate one with `flattr tokens genkey`)"]) from None


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
