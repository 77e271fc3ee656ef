"""Which host names the server may call on a user's word (a Mastodon instance, a Bluesky
PDS): never an IP address, a single label or a private suffix, so that a user cannot make
the server reach an internal address by name."""

from __future__ import annotations

import ipaddress

PRIVATE_SUFFIXES = (".localhost", ".local", ".internal", ".lan", ".home.arpa", ".onion")


def is_public_name(host: str) -> bool:
    """A lower-case host name (no port) that names a public server."""
    host = host.lower().rstrip(".")
    try:
        ipaddress.ip_address(host.strip("[]"))
        return False
    except ValueError:
        pass
    return "." in host and not host.endswith(PRIVATE_SUFFIXES)
