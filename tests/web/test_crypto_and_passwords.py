"""Token encryption keys (configured, rotated, generated for the sandbox, refused live
without one) and password hashing."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from config import ConfigError, Settings
from core import crypto
from core.users import hash_password, verify_password
from runtime.app import App
from runtime.keys import key_ring
from web.app import create_app


def test_sandbox_without_keys_generates_a_private_key_file(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/f.db", token_keys=None,
                        networks="sandbox")
    sealed = key_ring(settings).seal("secret-token")
    key_file = tmp_path / "f.db.token-key"
    assert key_file.exists() and stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "secret-token" not in sealed
    assert key_ring(settings).open(sealed) == "secret-token"  # same file, same key
    key_file.unlink()
    with pytest.raises(crypto.TokenUnreadable):
        key_ring(settings).open(sealed)  # a new key: the old tokens are gone


def test_live_needs_configured_keys_and_session_secret(tmp_path: Path) -> None:
    live = Settings(database_url=f"sqlite:///{tmp_path}/f.db", networks="live", token_keys=None)
    with pytest.raises(ConfigError, match="FLATTR_TOKEN_KEYS"):
        key_ring(live).seal("x")
    with pytest.raises(ConfigError, match="FLATTR_TOKEN_KEYS"):
        key_ring(live.model_copy(update={"token_keys": "not-a-fernet-key"})).seal("x")
    keyed = live.model_copy(update={"token_keys": crypto.generate_key()})
    from web.app import session_secret

    with pytest.raises(ConfigError, match="FLATTR_SESSION_SECRET"):
        session_secret(keyed)


def test_bad_key_is_a_config_error(tmp_path: Path) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path}/f.db", token_keys="short")
    with pytest.raises(ConfigError, match="32 url-safe base64"):
        key_ring(settings).seal("x")


def test_tampered_ciphertext_is_unreadable() -> None:
    settings = Settings(token_keys=crypto.generate_key())
    sealed = key_ring(settings).seal("token")
    flipped = sealed[:-5] + ("A" if sealed[-5] != "A" else "B") + sealed[-4:]
    for bad in (flipped, "", "not-base64!", sealed[:20]):
        with pytest.raises(crypto.TokenUnreadable):
            key_ring(settings).open(bad)


def test_session_cookie_is_secure_over_https(app: App) -> None:
    https = create_app(App(settings=app.settings.model_copy(
        update={"web_base_url": "https://flattr.example"}), db=app.db, rules=app.rules))
    assert https.config["SESSION_COOKIE_SECURE"] is True
    assert create_app(app).config["SESSION_COOKIE_SECURE"] is False


def test_password_hashes() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("scrypt$") and "correct" not in stored
    assert stored != hash_password("correct horse battery")  # salted
    assert verify_password("correct horse battery", stored)
    assert not verify_password("correct horse batterx", stored)
    for broken in (None, "", "md5$x", "scrypt$1$2$3$!!$??", "scrypt$a$b$c$d$e"):
        assert not verify_password("correct horse battery", broken)
