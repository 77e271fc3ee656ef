"""The parsed request a sandbox handler sees."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-cased names
    body: bytes = b""
    raw_query: str = ""  # as sent: a parameter may repeat (XRPC's uris=...&uris=...)

    def params(self, name: str) -> list[str]:
        """Every value of a query parameter, in order."""
        return [v for k, v in parse_qsl(self.raw_query, keep_blank_values=True) if k == name]

    @property
    def form(self) -> dict[str, str]:
        if "application/x-www-form-urlencoded" in self.headers.get("content-type", ""):
            return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))
        return {}

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            return None

    def param(self, name: str) -> str | None:
        """A query or form parameter (Graph accepts both)."""
        return self.query.get(name, self.form.get(name))

    @property
    def bearer(self) -> str | None:
        value = self.headers.get("authorization", "")
        return value[7:].strip() if value.lower().startswith("bearer ") else None
