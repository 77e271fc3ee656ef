"""Outside the sandbox a DID document is the user's own words: the directory refuses a PDS
that is not a public https URL, a did:web on a private host, a redirect and an oversized
document (no request to an internal address on a user's say-so)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bots.bluesky.did import MAX_DOCUMENT, DidUnresolved, PdsDirectory

DID = "did:plc:aaaaaaaaaaaaaaaaaaaaaaaa"


class _Plc(BaseHTTPRequestHandler):
    answers: dict[str, tuple[int, dict[str, str], bytes]] = {}

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        status, headers, body = self.answers[self.path.rsplit("/", 1)[-1]]
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def _document(did: str, pds: str) -> bytes:
    return json.dumps({"id": did, "service": [{"id": "#atproto_pds",
                       "type": "AtprotoPersonalDataServer", "serviceEndpoint": pds}]}).encode()


@pytest.fixture
def plc() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Plc)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("pds", ["http://pds.example.com", "https://10.0.0.5:9200",
                                 "https://169.254.169.254", "https://localhost",
                                 "https://pds.internal", "https://[::1]:443"])
def test_a_pds_that_is_not_a_public_https_url_is_refused(plc: str, pds: str) -> None:
    _Plc.answers = {DID: (200, {}, _document(DID, pds))}
    with pytest.raises(DidUnresolved):
        PdsDirectory(plc).pds_of(DID)


def test_a_public_https_pds_is_accepted(plc: str) -> None:
    _Plc.answers = {DID: (200, {}, _document(DID, "https://pds.example.com/"))}
    assert PdsDirectory(plc).pds_of(DID) == "https://pds.example.com"


def test_a_redirect_and_an_oversized_document_are_refused(plc: str) -> None:
    _Plc.answers = {DID: (302, {"Location": "http://10.0.0.5/"}, b"")}
    with pytest.raises(DidUnresolved):
        PdsDirectory(plc).pds_of(DID)
    padded = _document(DID, "https://pds.example.com")[:-1] + b', "x": "'
    _Plc.answers = {DID: (200, {}, padded + b"y" * MAX_DOCUMENT + b'"}')}
    with pytest.raises(DidUnresolved):
        PdsDirectory(plc).pds_of(DID)


@pytest.mark.parametrize("did", ["did:web:localhost%3A8080", "did:web:10.0.0.5",
                                 "did:web:printer.local", "did:web:intranet"])
def test_a_did_web_on_a_private_host_is_refused(did: str) -> None:
    with pytest.raises(DidUnresolved):
        PdsDirectory("https://plc.invalid").document_url(did)


def test_the_sandbox_may_name_local_pdses(plc: str) -> None:
    _Plc.answers = {DID: (200, {}, _document(DID, "http://127.0.0.1:9/pds-a"))}
    directory = PdsDirectory(plc, did_web_base=f"{plc}/did-web")
    assert directory.pds_of(DID) == "http://127.0.0.1:9/pds-a"
