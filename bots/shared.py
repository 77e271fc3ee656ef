"""Shared reads: one request that serves many linked accounts (X: a recent search for
#flattr by a group of people, the service account's mentions), as opposed to an account's
own streams (bots.base.SocialNetwork).

A network that has them gives its registry entry a `shared_reader`; jobs/shared.py plans
the streams from the linked accounts, leases each stream to one worker (the database's
`shared_streams` table), calls `fetch` outside any transaction and records what it found
for the people it found it for. Members are user ids with a start mark each: only what a
member did after the mark counts (like an account's first poll, which only records where
it stands).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Protocol

from bots.base import FetchResult

Members = Mapping[str, str]  # user id -> start mark (opaque to the job)


class SharedReader(Protocol):
    name: str  # the network

    def reads(self, triggers: frozenset[str]) -> bool:
        """Is an account with these triggers (the person's, within the deployment's) read
        through the shared streams?"""
        ...

    def start_mark(self, now: datetime, cursor: dict | None = None) -> str:
        """The start mark of a member who joins now; `cursor` is the account's own (where
        its own streams stopped reading: a member who was read there before starts
        there, so nothing falls between the two)."""
        ...

    def plan(self, current: Mapping[str, Members], wanted: Members) -> dict[str, dict[str, str]]:
        """The streams to run (name -> its members) for `wanted`, from the `current` ones:
        deterministic, and moving as few members as it can."""
        ...

    def fetch(self, stream: str, members: Members, everyone: Members, cursor: dict | None,
              now: datetime) -> FetchResult:
        """Read one stream. `everyone`: every member of every stream (a stream that reads
        for all of them, such as the mentions, has no members of its own). Activities
        come with the member as actor; cursor and next_poll_at as for an account."""
        ...
