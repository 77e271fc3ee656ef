"""Bluesky's part of the sandbox: the XRPC endpoints the service calls (resolveHandle,
createSession with app passwords, listRecords with its cursor, getPosts with at most 25
URIs) in the shapes and error bodies of the real services, and the Jetstream v1 websocket
(bots/bluesky/sandbox_jetstream.py) started beside the HTTP server.

More than one PDS: an account's `pds` (a name) puts its repository at `/pds/<name>`, whose
`/xrpc/com.atproto.repo.listRecords` lists only the repositories it holds, as does the
root's for accounts without one. DID documents name each account's PDS: `/plc/<did>` (the
PLC directory) and `/did-web/<host>/.well-known/did.json` (a `did:web:<host>`)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bots.bluesky import POST
from bots.bluesky.parse import split_at_uri
from bots.bluesky.sandbox_world import BlueskyWorld, Record, bluesky_of
from bots.registry import Service
from bots.sandbox.faults import Fault
from bots.sandbox.replies import Reply, json_reply
from bots.sandbox.request import Request
from bots.sandbox.world import World

if TYPE_CHECKING:
    from bots.sandbox.server import SandboxServer

PREFIX = "/xrpc/"
GET_POSTS_MAX = 25
LIST_MAX = 100
_FIVE_MINUTES = timedelta(minutes=5)


PLC_PREFIX, WEB_PREFIX, PDS_PREFIX = "/plc/", "/did-web/", "/pds/"
PDS_ROUTES = {"com.atproto.repo.listRecords"}  # what a named PDS answers here


def owns(path: str) -> bool:
    return path.startswith((PREFIX, PLC_PREFIX, WEB_PREFIX, PDS_PREFIX)) or path == "/subscribe"


def route(world: World, request: Request) -> Reply | None:
    path, pds = request.path, None
    if path.startswith((PLC_PREFIX, WEB_PREFIX)):
        return _did_document(bluesky_of(world), request)
    if path.startswith(PDS_PREFIX):
        pds, _, rest = path[len(PDS_PREFIX):].partition("/")
        path = f"/{rest}"
    if not path.startswith(PREFIX):
        return None
    method = path[len(PREFIX):]
    handler = _ROUTES.get(method)
    if handler is None or (pds is not None and method not in PDS_ROUTES):
        return _error(501, "MethodNotImplemented", f"Method Not Implemented: {method}")
    world.count_request("ip", method, 3000, _FIVE_MINUTES)
    sky = bluesky_of(world)
    if method == "com.atproto.repo.listRecords":
        return _list_records(sky, world.current_time(), request, pds)
    return handler(sky, world.current_time(), request)


def fault(fault: Fault, now: datetime) -> Reply | None:
    """Injected failures in the XRPC error shape (429 with the ratelimit-* headers)."""
    if fault.kind == "rate_limit":
        reset = int(time.time()) + 1  # the SDK waits for the wall clock
        return json_reply(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
                          {"ratelimit-limit": "3000", "ratelimit-remaining": "0",
                           "ratelimit-reset": str(reset), "ratelimit-policy": "3000;w=300"})
    if fault.kind == "status":
        return _error(fault.status, "InternalServerError", "Internal Server Error")
    if fault.kind == "revoked":
        return _error(401, "ExpiredToken", "Token has expired")
    return None


def serve(server: SandboxServer) -> list[Service]:
    """Jetstream's websocket; and, on the HTTP server itself, the XRPC AppView, each PDS and
    where DID documents are read (listed at /_sandbox/services)."""
    from bots.bluesky.sandbox_jetstream import start_jetstream

    base = server.base_url
    names = sorted({a["pds"] for a in bluesky_of(server.world).accounts.values()
                    if a.get("pds")})
    return [start_jetstream(server), Service("bluesky.xrpc", base, _nothing),
            *(Service(f"bluesky.pds.{n}", f"{base}{PDS_PREFIX}{n}", _nothing) for n in names),
            Service("bluesky.plc", f"{base}{PLC_PREFIX.rstrip('/')}", _nothing),
            Service("bluesky.did_web", f"{base}{WEB_PREFIX.rstrip('/')}", _nothing)]


def _nothing() -> None:
    """Served by the HTTP server: nothing of its own to stop."""


def _did_document(sky: BlueskyWorld, request: Request) -> Reply:
    """A DID document naming the account's PDS (the PLC directory's 404 body otherwise)."""
    base = f"http://{request.headers.get('host', '')}"
    if request.path.startswith(PLC_PREFIX):
        did = request.path[len(PLC_PREFIX):]
    else:
        host = request.path[len(WEB_PREFIX):].removesuffix("/.well-known/did.json")
        did = "did:web:" + host.replace(":", "%3A")
    account = sky.accounts.get(did)
    if account is None or did.startswith("did:web:") != request.path.startswith(WEB_PREFIX):
        return json_reply(404, {"message": f"DID not registered: {did}"})
    pds = f"{base}{PDS_PREFIX}{account['pds']}" if account.get("pds") else base
    return json_reply(200, {
        "@context": ["https://www.w3.org/ns/did/v1", "https://w3id.org/security/multikey/v1"],
        "id": did, "alsoKnownAs": [f"at://{account['handle']}"], "verificationMethod": [],
        "service": [{"id": "#atproto_pds", "type": "AtprotoPersonalDataServer",
                     "serviceEndpoint": pds}]})


# -- the endpoints ------------------------------------------------------------------------


def _resolve_handle(sky: BlueskyWorld, now: datetime, request: Request) -> Reply:
    handle = (request.query.get("handle") or "").lower().lstrip("@")
    did = sky.handles.get(handle)
    if did is None:
        return _error(400, "InvalidRequest", "Unable to resolve handle")
    return json_reply(200, {"did": did})


def _create_session(sky: BlueskyWorld, now: datetime, request: Request) -> Reply:
    if request.method != "POST":
        return _error(405, "InvalidRequest", "Method Not Allowed")
    payload = request.json if isinstance(request.json, dict) else {}
    identifier = str(payload.get("identifier") or "").lower().lstrip("@")
    did = identifier if identifier in sky.accounts else sky.handles.get(identifier)
    account = sky.accounts.get(did or "")
    if account is None or not account.get("app_password") \
            or payload.get("password") != account["app_password"]:
        return _error(401, "AuthenticationRequired", "Invalid identifier or password")
    return json_reply(200, {"did": did, "handle": account["handle"], "active": True,
                            "accessJwt": _jwt(did or "", now, "com.atproto.appPass"),
                            "refreshJwt": _jwt(did or "", now, "com.atproto.refresh")})


def _list_records(sky: BlueskyWorld, now: datetime, request: Request,
                  pds: str | None = None) -> Reply:
    """Only the repositories this PDS holds (the root: accounts without a named PDS)."""
    repo, collection = request.query.get("repo", ""), request.query.get("collection", "")
    did = repo if repo in sky.accounts else sky.handles.get(repo.lower())
    if did is None or sky.accounts[did].get("pds") != pds:
        return _error(400, "InvalidRequest", f"Could not find repo: {repo}")
    try:
        limit = int(request.query.get("limit") or 50)
    except ValueError:
        return _error(400, "InvalidRequest", "limit must be an integer")
    if not 1 <= limit <= LIST_MAX:
        return _error(400, "InvalidRequest", f"limit must be between 1 and {LIST_MAX}")
    reverse = request.query.get("reverse") == "true"
    cursor = request.query.get("cursor")
    records = [r for r in sky.repos.get((did, collection), []) if r.exists(now)]
    if not reverse:
        records.reverse()  # newest first: record keys are TIDs
    if cursor:
        records = [r for r in records if (r.rkey > cursor if reverse else r.rkey < cursor)]
    page = records[:limit]
    body: dict[str, Any] = {"records": [{"uri": r.uri, "cid": r.cid, "value": r.value}
                                        for r in page]}
    if len(records) > limit:
        body["cursor"] = page[-1].rkey
    return json_reply(200, body)


def _get_posts(sky: BlueskyWorld, now: datetime, request: Request) -> Reply:
    uris = request.params("uris")
    if len(uris) > GET_POSTS_MAX:
        return _error(400, "InvalidRequest", f"uris must not have more than {GET_POSTS_MAX} "
                      "elements")
    views = []
    for uri in uris:
        parts = split_at_uri(uri)
        if parts is None:
            return _error(400, "InvalidRequest", f"Invalid at-uri: {uri}")
        record = sky.posts.get(uri)
        if record is not None and record.exists(now) and parts[1] == POST:
            views.append(_post_view(sky, record))
    return json_reply(200, {"posts": views})


def _post_view(sky: BlueskyWorld, record: Record) -> dict[str, Any]:
    author = sky.accounts.get(record.did, {"handle": "handle.invalid"})
    view: dict[str, Any] = {
        "uri": record.uri, "cid": record.cid,
        "author": {"did": record.did, "handle": author["handle"],
                   "displayName": author.get("name", "")},
        "record": record.value, "replyCount": 0, "repostCount": 0, "likeCount": 0,
        "quoteCount": 0, "indexedAt": record.value.get("createdAt"), "labels": []}
    embed = record.value.get("embed")
    if isinstance(embed, dict) and embed.get("$type") == "app.bsky.embed.external":
        view["embed"] = {"$type": "app.bsky.embed.external#view",
                         "external": dict(embed["external"])}
    return view


_ROUTES = {
    "com.atproto.identity.resolveHandle": _resolve_handle,
    "com.atproto.server.createSession": _create_session,
    "com.atproto.repo.listRecords": _list_records,
    "app.bsky.feed.getPosts": _get_posts,
}


# -- shapes -------------------------------------------------------------------------------


def _error(status: int, error: str, message: str) -> Reply:
    return json_reply(status, {"error": error, "message": message})


def _jwt(did: str, now: datetime, scope: str) -> str:
    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    issued = int(now.timestamp())
    return ".".join([part({"typ": "at+jwt", "alg": "ES256K"}),
                     part({"scope": scope, "sub": did, "iat": issued, "exp": issued + 7200,
                           "aud": "did:web:sandbox.invalid"}),
                     base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()])
