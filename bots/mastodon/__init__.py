"""Mastodon (any instance): everything this service knows about the network lives in this
folder (adapter, parse, oauth, sandbox; spec.py describes it to bots.registry).

An account is known by its home instance and its id there: the linked account's
`external_user_id` is `<host>:<id>` and its identity `mastodon:<host>:<id>` (core.identity,
scheme registered through spec.py). Account ids are per instance: the same person seen
from another instance has another local id, so an author's identity always names the home
instance."""

from __future__ import annotations

import re

NETWORK = "mastodon"  # social_accounts.network, Activity.network
ACCOUNT_KIND = "account"  # its identities: <prefix><host>:<account id>

# A DNS name in its IDNA ASCII form (lower case), then ':' and the account id (ASCII digits).
HOST_PATTERN = (r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*"
                r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
ID_PATTERN = r"[0-9]{1,20}"
ACCOUNT_PATTERN = HOST_PATTERN + ":" + ID_PATTERN
_ACCOUNT = re.compile(f"({HOST_PATTERN}):({ID_PATTERN})")


def account_key(host: str, account_id: str) -> str:
    """A linked account's external user id: `<host>:<id>`."""
    key = f"{host}:{account_id}"
    if not _ACCOUNT.fullmatch(key):
        raise ValueError(f"not a Mastodon account (HOST:ID): {key[:200]!r}")
    return key


def split_account(external_user_id: str) -> tuple[str, str]:
    """(host, id) of `<host>:<id>`; ValueError otherwise."""
    match = _ACCOUNT.fullmatch(external_user_id or "")
    if match is None:
        raise ValueError(f"not a Mastodon account (HOST:ID): {external_user_id[:200]!r}")
    return match.group(1), match.group(2)
