"""Where each emulated network answers in a running sandbox, as lines for a person to read
(`flattr sandbox`, `flattr web --with-sandbox`): the HTTP APIs on the server's own address,
and each service a network serves beside it or under its own path (Bluesky's Jetstream
websocket, its XRPC AppView, its PDSes and DID documents: GET /_sandbox/services)."""

from __future__ import annotations

from bots.sandbox.server import SandboxServer

LABELS = {
    "bluesky.xrpc": "Bluesky XRPC (AppView: getPosts, resolveHandle; createSession)",
    "bluesky.jetstream": "Bluesky Jetstream v1 (websocket)",
    "bluesky.plc": "Bluesky PLC directory (did:plc documents)",
    "bluesky.did_web": "Bluesky did:web documents (<url>/<host>/.well-known/did.json)",
}


def describe(server: SandboxServer) -> list[str]:
    base = server.base_url
    lines = [("X API v2", f"{base}/2/ (OAuth 2.0: {base}/i/oauth2/authorize)"),
             ("Facebook Graph", f"{base}/v22.0/"),
             ("Mastodon instances", f"{base}/mastodon/<host>/")]
    for name, url in sorted(server.services.items()):
        if name.startswith("bluesky.pds."):
            label = f"Bluesky PDS {name.removeprefix('bluesky.pds.')} (listRecords)"
        else:
            label = LABELS.get(name, name)
        lines.append((label, url))
    width = max(len(label) for label, _ in lines)
    return [f"  {label.ljust(width)}  {url}" for label, url in lines]
