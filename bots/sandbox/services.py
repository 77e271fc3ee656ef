"""Where each emulated network answers in a running sandbox, as lines for a person to read
(`flattr sandbox`, `flattr web --with-sandbox`): the HTTP APIs on the server's own address,
and each service a network serves beside it or under its own path (Bluesky's Jetstream
websocket, its XRPC AppView, its PDSes and DID documents: GET /_sandbox/services)."""

from __future__ import annotations

from bots.sandbox.server import SandboxServer

LABELS = {  # name: (label, what follows the URL)
    "bluesky.xrpc": ("Bluesky XRPC (AppView, sign-in)", "/xrpc/"),
    "bluesky.plc": ("Bluesky PLC directory", "/<did>"),
    "bluesky.did_web": ("Bluesky did:web documents", "/<host>/.well-known/did.json"),
    "bluesky.jetstream": ("Bluesky Jetstream v1", ""),
}


def describe(server: SandboxServer) -> list[str]:
    base = server.base_url
    lines = [("X API v2", f"{base}/2/  (OAuth 2.0: {base}/i/oauth2/authorize)"),
             ("Facebook Graph", f"{base}/v22.0/"),
             ("Mastodon instances", f"{base}/mastodon/<host>/")]
    order = ["bluesky.xrpc", "bluesky.pds.", "bluesky.plc", "bluesky.did_web"]

    def rank(name: str) -> tuple[int, str]:
        return next((n for n, p in enumerate(order) if name.startswith(p)), len(order)), name

    for name in sorted(server.services, key=rank):
        url = server.services[name]
        if name.startswith("bluesky.pds."):
            label, tail = f"Bluesky PDS {name.removeprefix('bluesky.pds.')}", "/xrpc/ (listRecords)"
        else:
            label, tail = LABELS.get(name, (name, ""))
        lines.append((label, url + tail))
    width = max(len(label) for label, _ in lines)
    return [f"  {label.ljust(width)}  {url}" for label, url in lines]
