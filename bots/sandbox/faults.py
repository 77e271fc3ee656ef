"""Faults the sandbox can inject, per path pattern and/or per token, changeable at runtime."""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import asdict, dataclass, field

FAULT_KINDS = (
    "latency",
    "status",
    "rate_limit",
    "malformed",
    "truncated",
    "disconnect",
    "revoked",
    "usage_capped",
    "problem",
    "oauth_no_code",
    "not_transient",
    "duplicate",
    "slow_consumer",
)


@dataclass
class Fault:
    """One injected fault.

    kind: 'latency' (delay latency_ms, then answer normally), 'status' (HTTP `status`, e.g.
    500/502/503, in the network's error shape), 'rate_limit' (429 / Graph code 17, reset in
    `reset_in_s`), 'malformed' (200, not JSON), 'truncated' (200, the JSON cut in half),
    'disconnect' (half the body, then the connection closes), 'revoked' (the token is
    refused, as if revoked), 'usage_capped' (X's monthly cap), 'problem' (X: HTTP 200 with
    an `errors` list and neither `data` nor `meta`), 'oauth_no_code' (Facebook: HTTP 403,
    `WWW-Authenticate: OAuth ... invalid_token` and an OAuthException without a code; X:
    401), 'not_transient' (Facebook: Graph error `code` with `is_transient: false`, HTTP
    `status`; X: a problem with that status).
    path: a regex searched in the request path and query (path?k=v&...);
    token: only requests with that token;
    times: how many requests it hits (None: until removed).
    """

    kind: str
    path: str = ""
    token: str | None = None
    times: int | None = None
    latency_ms: int = 0
    status: int = 503
    reset_in_s: int = 900
    code: int = 1
    after: int = 0  # stream faults: how many events pass first
    id: int = 0
    hits: int = 0
    _pattern: re.Pattern[str] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; use one of {FAULT_KINDS}")
        self._pattern = re.compile(self.path)

    def matches(self, path: str, token: str | None) -> bool:
        if self.token is not None and self.token != token:
            return False
        return bool(self._pattern and self._pattern.search(path))

    def describe(self) -> dict:
        data = asdict(self)
        data.pop("_pattern", None)
        return data


class FaultTable:
    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def add(self, kind: str, **options: object) -> int:
        fault = Fault(kind=kind, **options)  # type: ignore[arg-type]
        with self._lock:
            fault.id = next(self._ids)
            self._faults.append(fault)
        return fault.id

    def remove(self, fault_id: int) -> None:
        with self._lock:
            self._faults = [f for f in self._faults if f.id != fault_id]

    def clear(self) -> None:
        with self._lock:
            self._faults = []

    def list(self) -> list[dict]:
        with self._lock:
            return [f.describe() for f in self._faults]

    def take(self, path: str, token: str | None) -> tuple[int, Fault | None]:
        """(latency in ms, the fault that decides the answer or None); counts the hits."""
        latency, decisive = 0, None
        with self._lock:
            for fault in self._faults:
                if not fault.matches(path, token):
                    continue
                if fault.kind == "latency":
                    latency += fault.latency_ms
                elif decisive is None:
                    decisive = fault
                else:
                    continue
                fault.hits += 1
                if fault.times is not None:
                    fault.times -= 1
            self._faults = [f for f in self._faults if f.times is None or f.times > 0]
        return latency, decisive
