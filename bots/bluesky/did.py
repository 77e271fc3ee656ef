"""Where a DID's repository lives: the PDS its DID document names (`#atproto_pds`, type
`AtprotoPersonalDataServer`), read from the PLC directory for `did:plc:` (`GET <plc>/<did>`)
and from `https://<host>/.well-known/did.json` for `did:web:<host>` (a port is written
`%3A`; atproto allows no path). The document is parsed by the SDK's DidDocument, and must
name the DID asked for.

Cached in the process, per DID, for `ttl` seconds (least recently used first out past
`max_entries`): a repository moves PDS seldom, a listRecords answering "could not find
repo" forgets it (the caller resolves again), and a restart costs one lookup per DID at the
next backfill, so a table in the database would buy little. The sandbox serves both kinds
of document (`did_web_base`: did:web documents fetched from `<base>/<host>/...` instead).
"""

from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import unquote, urlsplit

import requests
import urllib3
from atproto_core.did_doc import DidDocument
from pydantic import ValidationError

from bots.bluesky.xrpc import Unavailable
from bots.hosts import is_public_name

PLC_DIRECTORY = "https://plc.directory"
DID_DOC_PATH = "/.well-known/did.json"
MAX_DOCUMENT = 64 * 1024  # bytes; real DID documents are about 1 KB


class DidUnresolved(Exception):
    """No DID document, or one that names no PDS (or another DID): nothing to list."""


class PdsDirectory:
    def __init__(self, plc_url: str = PLC_DIRECTORY, *, did_web_base: str | None = None,
                 timeout: float = 10.0, ttl: float = 6 * 3600.0, max_entries: int = 100_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.plc_url, self.did_web_base = plc_url.rstrip("/"), did_web_base
        # Outside the sandbox (whose did:web documents are served from `did_web_base`), a
        # DID may name only public https hosts: a user writes their own DID document.
        self.public_only = did_web_base is None
        self.timeout, self.ttl, self.max_entries, self.clock = timeout, ttl, max_entries, clock
        self.http = requests.Session()
        self.lookups = 0
        self._cache: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def close(self) -> None:
        self.http.close()

    def document_url(self, did: str) -> str:
        if did.startswith("did:plc:"):
            return f"{self.plc_url}/{did}"
        if did.startswith("did:web:"):
            host = unquote(did[len("did:web:"):])
            if not host or ":" in did[len("did:web:"):] or "/" in host:
                raise DidUnresolved(f"{did}: a did:web with a path is not an atproto DID")
            if self.did_web_base:
                return f"{self.did_web_base.rstrip('/')}/{host}{DID_DOC_PATH}"
            if not is_public_name(host) or ":" in host:
                raise DidUnresolved(f"{did}: not a public host")
            return f"https://{host}{DID_DOC_PATH}"
        raise DidUnresolved(f"{did}: only did:plc and did:web are atproto DIDs")

    def pds_of(self, did: str) -> str:
        """The PDS's base URL (no /xrpc). Raises DidUnresolved, or Unavailable (retry)."""
        now = self.clock()
        with self._lock:
            found = self._cache.get(did)
            if found is not None and found[1] > now:
                self._cache.move_to_end(did)
                return found[0]
        pds = self._resolve(did)
        with self._lock:
            self._cache[did] = (pds, now + self.ttl)
            self._cache.move_to_end(did)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return pds

    def forget(self, did: str) -> None:
        with self._lock:
            self._cache.pop(did, None)

    def _resolve(self, did: str) -> str:
        url = self.document_url(did)
        self.lookups += 1
        try:
            response = self.http.get(url, timeout=self.timeout, allow_redirects=False,
                                     stream=True)
            with response:
                body = response.raw.read(MAX_DOCUMENT + 1, decode_content=True)
        except (requests.RequestException, OSError, urllib3.exceptions.HTTPError) as exc:
            raise Unavailable(f"resolving {did}: {exc}"[:300]) from None
        if response.status_code >= 500 or response.status_code == 429:
            raise Unavailable(f"resolving {did}: HTTP {response.status_code}")
        if response.status_code != 200:
            raise DidUnresolved(f"{did}: HTTP {response.status_code} from {url}")
        if len(body) > MAX_DOCUMENT:
            raise DidUnresolved(f"{did}: its DID document is over {MAX_DOCUMENT} bytes")
        try:
            document = DidDocument.from_dict(json.loads(body))
        except (ValueError, ValidationError) as exc:
            raise DidUnresolved(f"{did}: not a DID document ({exc})"[:300]) from None
        if document.get_did() != did:
            raise DidUnresolved(f"{did}: the document at {url} is {document.get_did()}'s")
        pds = document.get_pds_endpoint()
        if pds is None:
            raise DidUnresolved(f"{did}: its DID document names no PDS")
        if self.public_only:
            parts = urlsplit(pds)
            if parts.scheme != "https" or not is_public_name(parts.hostname or ""):
                raise DidUnresolved(f"{did}: its PDS {pds[:100]!r} is not a public https URL")
        return pds.rstrip("/")
