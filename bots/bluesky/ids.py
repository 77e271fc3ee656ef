"""AT Protocol identifiers the sandbox and the scenarios make: TIDs (record keys: 13
base32-sortable characters from a microsecond time) and did:plc identifiers."""

from __future__ import annotations

import hashlib
from datetime import datetime

_B32 = "234567abcdefghijklmnopqrstuvwxyz"


def tid(time_us: int, clock_id: int = 0) -> str:
    value = ((time_us & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    return "".join(_B32[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def tid_at(moment: datetime, clock_id: int = 0) -> str:
    return tid(time_us(moment), clock_id)


def time_us(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000 + moment.microsecond


def plc(name: str) -> str:
    """A did:plc made from a name (24 base32 characters, like the real ones)."""
    digest = hashlib.sha256(name.encode()).digest()
    bits = int.from_bytes(digest[:15], "big")
    return "did:plc:" + "".join(_B32[(bits >> (5 * i)) & 31] for i in range(24))


def cid(text: str) -> str:
    """A CID-shaped string (bafyrei + 52 base32 characters) for a record's content."""
    digest = int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")
    return "bafyrei" + "".join(_B32[(digest >> (5 * i)) & 31] for i in range(52))
