"""PKCE (RFC 7636) as the sandbox's authorization servers check it: a verifier or a
challenge is at most 128 characters of A-Z a-z 0-9 - . _ ~ (the RFC's alphabet; its
43-character minimum is not enforced, as the sandbox's tests use short ones), a state
printable ASCII; anything else (a non-ASCII one above all) is a malformed request,
answered 400 as the real servers do, never a crash. Comparisons are of bytes in constant
time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{1,128}")
_STATE = re.compile(r"[\x21-\x7e]{1,500}")  # printable ASCII


def valid_verifier(value: str) -> bool:
    return _VERIFIER.fullmatch(value) is not None


def valid_challenge(value: str, method: str) -> bool:
    return _VERIFIER.fullmatch(value) is not None


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
