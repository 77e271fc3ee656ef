"""PKCE (RFC 7636) as the sandbox's authorization servers check it: a verifier or a plain
challenge is 43 to 128 characters of A-Z a-z 0-9 - . _ ~, an S256 challenge is 43 of
base64url; anything else (a non-ASCII one too) is a malformed request, answered 400 as the
real servers do, never a crash. Comparisons are of bytes in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_S256 = re.compile(r"[A-Za-z0-9\-_]{43}")
_STATE = re.compile(r"[\x21-\x7e]{1,500}")  # printable ASCII


def valid_verifier(value: str) -> bool:
    return _VERIFIER.fullmatch(value) is not None


def valid_challenge(value: str, method: str) -> bool:
    return (_S256 if method == "S256" else _VERIFIER).fullmatch(value) is not None


def valid_state(value: str) -> bool:
    return _STATE.fullmatch(value) is not None


def same(a: str, b: str) -> bool:
    """Constant-time equality of any two strings (secrets.compare_digest refuses non-ASCII
    str)."""
    return hmac.compare_digest(a.encode(), b.encode())


def matches(verifier: str, challenge: str, method: str) -> bool:
    if not valid_verifier(verifier):
        return False
    if method == "plain":
        return same(verifier, challenge)
    digest = hashlib.sha256(verifier.encode()).digest()
    return same(base64.urlsafe_b64encode(digest).decode().rstrip("="), challenge)
