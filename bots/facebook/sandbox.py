"""Graph API endpoints of the sandbox: /vNN.N/ paths, cursor and time paging with the token
and the echoed parameters in `paging.next`, Graph error bodies, always application/json."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from bots.facebook import NETWORK, sandbox_oauth
from bots.facebook.sandbox_errors import fb_error
from bots.facebook.webhook import hub_signature
from bots.sandbox.faults import Fault
from bots.sandbox.replies import Reply, html_reply, json_reply
from bots.sandbox.request import Request
from bots.sandbox.world import Grant, World
from config import Settings

GRAPH_PATH = re.compile(r"^/(v\d{1,2}\.\d{1,2})/(.+)$")
HOURLY_CALLS = 200  # Graph's platform limit: 200 calls per user per rolling hour
WINDOW = timedelta(hours=1)
DEFAULT_LIMIT = 25


def fb_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+0000")


def handle(world: World, request: Request, version: str, rest: str) -> Reply:
    token = request.param("access_token")
    if rest == "debug_token":
        return _debug_token(world, request)
    grant = world.grant_for(token, NETWORK)
    if grant is None:
        known = world.grants.get(token or "")
        if known is not None and known.revoked:
            return fb_error(
                400,
                190,
                "Error validating access token: The user has not "
                "authorized application 1234567890.",
                subcode=458,
            )
        if known is not None:
            return fb_error(
                400, 190, "Error validating access token: Session has expired.", subcode=463
            )
        return fb_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
    limit, remaining, _ = world.count_request(grant.user_id, "graph", HOURLY_CALLS, WINDOW)
    usage = {
        "x-app-usage": json.dumps(
            {
                "call_count": min(100, int(100 * (limit - remaining) / limit)),
                "total_cputime": 1,
                "total_time": 1,
            }
        )
    }
    if remaining < 0:
        reply = fb_error(400, 17, "(#17) User request limit reached", transient=True)
    else:
        reply = _route(world, request, grant, version, rest)
    reply.headers.update(usage)
    reply.headers["facebook-api-version"] = version
    return reply


def _route(world: World, request: Request, grant: Grant, version: str, rest: str) -> Reply:
    parts = rest.strip("/").split("/")
    node = grant.user_id if parts[0] == "me" else parts[0]
    if request.method == "GET" and len(parts) == 1:
        return _node(world, node, request)
    if request.method == "GET" and parts[1:] == ["likes"]:
        return _likes(world, request, grant, node, version)
    if request.method == "GET" and parts[1:] == ["posts"]:
        return _posts(world, request, grant, node, version)
    if request.method == "GET" and parts[1:] == ["accounts"]:
        return _accounts(world, request, grant, node, version)
    if request.method == "POST" and parts[1:] == ["feed"]:
        return _page_post(world, request, grant, node)
    return fb_error(
        400, 100, f"Unknown path components: /{rest}", error_type="GraphMethodException"
    )


def _node(world: World, node: str, request: Request) -> Reply:
    if node in world.fb_users:
        return json_reply(200, world.fb_users[node])
    if node in world.fb_pages:
        page = world.fb_pages[node]
        return json_reply(200, {"id": page["id"], "name": page.get("name", "")})
    return fb_error(
        400,
        100,
        f"Object with ID '{node}' does not exist",
        subcode=33,
        error_type="GraphMethodException",
    )


def _own(grant: Grant, node: str) -> Reply | None:
    if grant.kind != "user" or grant.user_id != node:
        return fb_error(400, 200, "(#200) Requires user_likes/user_posts permission for this user")
    return None


def _likes(world: World, request: Request, grant: Grant, node: str, version: str) -> Reply:
    refused = _own(grant, node)
    if refused:
        return refused
    limit, offset = _limit(request), _decode(request.query.get("after"))
    now = world.current_time()
    with world.lock:
        likes = [(at, pid) for at, pid in world.fb_likes.get(node, []) if at <= now]
    chunk = likes[offset : offset + limit]
    data = [
        {
            "name": world.fb_pages.get(pid, {}).get("name", f"Page {pid}"),
            "id": pid,
            "created_time": fb_time(at),
        }
        for at, pid in chunk
    ]
    body: dict[str, Any] = {"data": data}
    if chunk:
        cursors = {"before": _encode(offset), "after": _encode(offset + len(chunk))}
        body["paging"] = {"cursors": cursors}
        if offset + limit < len(likes):
            body["paging"]["next"] = _next_url(
                version, node, "likes", request, grant, {"after": cursors["after"]}
            )
    return json_reply(200, body)


def _posts(world: World, request: Request, grant: Grant, node: str, version: str) -> Reply:
    refused = _own(grant, node)
    if refused:
        return refused
    limit = _limit(request)
    now = world.current_time()
    since = _int(request.query.get("since"))
    until = _int(request.query.get("until"))
    after_id = _decode_id(request.query.get("__paging_token"))
    with world.lock:
        posts = [
            p
            for p in world.fb_posts.get(node, [])
            if p["at"] <= now
            and (since is None or p["at"].timestamp() >= since)
            and (until is None or p["at"].timestamp() <= until)
        ]
    # The paging token names the last post served: the next page starts right after it,
    # whatever was posted in between (offsets would shift).
    ids = [p["id"] for p in posts]
    offset = ids.index(after_id) + 1 if after_id in ids else 0
    chunk = posts[offset : offset + limit]
    fields = request.query.get("fields", "id,created_time,message")
    body: dict[str, Any] = {"data": [_post_json(p, fields) for p in chunk]}
    if chunk and offset + limit < len(posts):
        extra = {
            "until": str(int(chunk[-1]["at"].timestamp()) + 1),
            "__paging_token": _encode_id(chunk[-1]["id"]),
        }
        body["paging"] = {"next": _next_url(version, node, "posts", request, grant, extra)}
    return json_reply(200, body)


def _accounts(world: World, request: Request, grant: Grant, node: str, version: str) -> Reply:
    """The Pages the token's user manages (scenario `facebook_pages[].managers`), each with a
    Page access token, cursor-paged like /likes. Without `pages_show_list` the list is empty,
    as on Graph."""
    if grant.kind != "user" or grant.user_id != node:
        return fb_error(400, 200, "(#200) Requires pages_show_list permission for this user")
    limit, offset = _limit(request), _decode(request.query.get("after"))
    with world.lock:
        pages = [
            page
            for page in world.fb_pages.values()
            if node in page.get("managers", ()) and "pages_show_list" in grant.scopes
        ]
    chunk = pages[offset : offset + limit]
    data = [
        {
            "id": page["id"],
            "name": page.get("name", ""),
            "access_token": world.issue_token(
                NETWORK, page["id"], kind="page", scopes=("pages_show_list",)
            ).token,
            "category": page.get("category", "Website"),
            "category_list": [{"id": "2700", "name": page.get("category", "Website")}],
            "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"],
        }
        for page in chunk
    ]
    body: dict[str, Any] = {"data": data}
    if chunk:
        cursors = {"before": _encode(offset), "after": _encode(offset + len(chunk))}
        body["paging"] = {"cursors": cursors}
        if offset + limit < len(pages):
            body["paging"]["next"] = _next_url(
                version, node, "accounts", request, grant, {"after": cursors["after"]}
            )
    return json_reply(200, body)


def _post_json(post: dict, fields: str) -> dict:
    """One post with the fields asked for. Its `attachment` (scenario option) shapes the
    attachments as the Graph sends them: 'share' (a link, wrapped by l.facebook.com, with
    `unshimmed_url`), 'photo' and 'album' (Facebook's own pages only), 'carousel' (a
    multi_share whose cards are `subattachments` and the post's `child_attachments`),
    'app' (an app_created_story whose outside link is only in `target.url`)."""
    asked = _top_fields(fields)
    kind = post.get("attachment") or ("share" if post.get("link") else None)
    out: dict[str, Any] = {"id": post["id"], "created_time": fb_time(post["at"])}
    if "message" in asked and post.get("message"):
        out["message"] = post["message"]
    if "status_type" in asked:
        out["status_type"] = post.get("status_type") or _STATUS_TYPES.get(
            kind or "", "mobile_status_update"
        )
    user, _, number = post["id"].partition("_")
    permalink = f"https://www.facebook.com/{user}/posts/{number}"
    if "permalink_url" in asked:
        out["permalink_url"] = permalink
    attachment = _attachment(post, kind, permalink)
    if "attachments" in asked and attachment:
        out["attachments"] = {"data": [attachment]}
    if "child_attachments" in asked and kind == "carousel":
        out["child_attachments"] = [
            {"link": link, "name": title} for link, title in _cards(post)
        ]
    return out


_STATUS_TYPES = {
    "share": "shared_story",
    "carousel": "shared_story",
    "photo": "added_photos",
    "album": "added_photos",
    "app": "app_created_story",
}


def _attachment(post: dict, kind: str | None, permalink: str) -> dict | None:
    title = post.get("title")
    number = post["id"].partition("_")[2] or "1"
    if kind == "share" and post.get("link"):
        found = {"type": "share", "url": _shim(post["link"]), "unshimmed_url": post["link"]}
    elif kind == "app" and post.get("link"):
        app = "https://www.facebook.com/apps/application.php?id=100265896690399"
        found = {"type": "share", "url": app, "target": {"url": _shim(post["link"])}}
    elif kind == "photo":
        photo = f"https://www.facebook.com/photo.php?fbid={number}&type=3"
        found = {"type": "photo", "url": photo, "target": {"id": number, "url": photo}}
    elif kind == "album":
        album = f"https://www.facebook.com/media/set/?set=a.{number}&type=3"
        photos = [
            {
                "type": "photo",
                "url": f"https://www.facebook.com/photo.php?fbid={number}{n}&set=a.{number}",
                "target": {"id": f"{number}{n}"},
            }
            for n in range(int(post.get("photos") or 2))
        ]
        found = {"type": "album", "url": album, "subattachments": {"data": photos}}
    elif kind == "carousel":
        cards = [
            {"type": "share", "url": _shim(link), "target": {"url": _shim(link)}}
            | ({"title": card_title} if card_title else {})
            for link, card_title in _cards(post)
        ]
        found = {"type": "multi_share", "url": permalink, "subattachments": {"data": cards}}
    else:
        return None
    if title:
        found["title"] = title
    return found


def _cards(post: dict) -> list[tuple[str, str | None]]:
    cards: list[tuple[str, str | None]] = []
    for card in post.get("links") or []:
        if isinstance(card, str):
            cards.append((card, None))
        elif isinstance(card, dict) and card.get("link"):
            cards.append((str(card["link"]), card.get("title")))
    return cards


def _shim(link: str) -> str:
    return "https://l.facebook.com/l.php?u=" + quote(link, safe="") + "&h=AT0sandbox"


def _top_fields(fields: str) -> set[str]:
    """The top-level names of a Graph `fields` list ("a,b{c,d},e" -> a, b, e)."""
    names, depth, current = set(), 0, ""
    for char in fields + ",":
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
        elif char == "," and depth == 0:
            names.add(current.strip())
            current = ""
        elif depth == 0:
            current += char
    return names - {""}


def _page_post(world: World, request: Request, grant: Grant, node: str) -> Reply:
    if grant.kind != "page" or grant.user_id != node:
        return fb_error(
            403, 200, "(#200) The user hasn't authorized the application to perform this action"
        )
    message = request.param("message")
    if not message:
        return fb_error(400, 100, "(#100) Missing message or attachment")
    post_id = f"{node}_{len(world.sent) + 1:015d}"
    world.record_sent(
        network=NETWORK,
        channel="facebook_page_post",
        sender=node,
        recipient=node,
        text=message,
        link=request.param("link"),
        external_id=post_id,
    )
    return json_reply(200, {"id": post_id})


def _debug_token(world: World, request: Request) -> Reply:
    if not request.param("access_token"):
        return fb_error(400, 104, "An access token is required to request this resource.")
    grant = world.grants.get(request.param("input_token") or "")
    if grant is None:
        return fb_error(400, 190, "Invalid OAuth access token - Cannot parse access token")
    live = world.grant_for(grant.token, NETWORK) is not None
    data: dict[str, Any] = {
        "app_id": "1234567890",
        "type": grant.kind.upper(),
        "application": "Flattr sandbox",
        "is_valid": live,
        "scopes": list(grant.scopes),
        "user_id": grant.user_id,
        "expires_at": int(grant.expires_at.timestamp()) if grant.expires_at else 0,
        "data_access_expires_at": 0,
    }
    if not live:
        data["error"] = {
            "code": 190,
            "message": "Error validating access token",
            "subcode": 460 if grant.revoked else 463,
        }
    return json_reply(200, {"data": data})


def _next_url(
    version: str, node: str, edge: str, request: Request, grant: Grant, extra: dict[str, str]
) -> str:
    params = {
        k: v
        for k, v in request.query.items()
        if k not in ("access_token", "after", "before", "__paging_token", "until")
    }
    params = {"access_token": grant.token, **params, **extra}
    return f"https://graph.facebook.com/{version}/{node}/{edge}?{urlencode(params)}"


def _limit(request: Request) -> int:
    return max(1, min(100, _int(request.query.get("limit")) or DEFAULT_LIMIT))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


def _encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _encode_id(post_id: str) -> str:
    return base64.urlsafe_b64encode(f"id:{post_id}".encode()).decode().rstrip("=")


def _decode_id(token: str | None) -> str | None:
    if not token:
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return raw[3:] if raw.startswith("id:") else None


def _decode(cursor: str | None) -> int:
    if not cursor:
        return 0
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return max(0, int(raw.split(":", 1)[1]))
    except (ValueError, IndexError, UnicodeDecodeError):
        return 0


# -- the handler the sandbox server dispatches to (NetworkSpec.sandbox) --------------------

_DIALOG = re.compile(r"^/(v\d{1,2}\.\d{1,2})/dialog/oauth(/approve)?$")
_TOKEN = re.compile(r"^/(v\d{1,2}\.\d{1,2})/oauth/access_token$")


def owns(path: str) -> bool:
    return re.match(r"^/v\d", path) is not None


def route(world: World, request: Request) -> Reply | None:
    path = request.path
    if match := _DIALOG.match(path):
        if match.group(2):
            return sandbox_oauth.approve(world, request)
        return sandbox_oauth.dialog(world, request, match.group(1))
    if _TOKEN.match(path):
        return sandbox_oauth.access_token(world, request)
    if match := GRAPH_PATH.match(path):
        return handle(world, request, match.group(1), match.group(2))
    return None


def fault(injected: Fault, now: datetime) -> Reply | None:
    """An injected failure as the Graph answers it; None: answer normally."""
    if injected.kind == "revoked":
        return fb_error(400, 190, "Error validating access token: The session has been "
                        "invalidated because the user changed their password.", subcode=460)
    if injected.kind == "rate_limit":
        return fb_error(400, 17, "(#17) User request limit reached", transient=True)
    if injected.kind == "oauth_no_code":
        reply = json_reply(
            403,
            {"error": {"message": "Invalid OAuth access token.", "type": "OAuthException"}},
            content_type="application/json; charset=UTF-8",
        )
        reply.headers["WWW-Authenticate"] = (
            'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token."'
        )
        return reply
    if injected.kind == "not_transient":
        return fb_error(injected.status, injected.code, "An unknown error has occurred.",
                        transient=False)
    if injected.kind == "status":
        if injected.status in (502, 504):  # a proxy in front of the Graph answers in HTML
            return html_reply(injected.status, "<html><body>Bad Gateway</body></html>")
        return fb_error(injected.status, 2,
                        "An unexpected error has occurred. Please retry your request later.",
                        transient=True)
    return None


# -- what the Graph pushes: user webhooks and the signed callbacks, as the sandbox builds them

_CHANGE_VALUES: dict[str, Any] = {
    "feed": {"verb": "add", "item": "post"},
    "likes": {"verb": "add"},
    "email": "someone@example.org",
    "photos": {"verb": "update"},
}


def user_webhook(changes: dict[str, list[str]], now: datetime, shape: str = "changes") -> dict:
    """A user webhook POST body: user id -> the fields that changed. `shape`: 'changes'
    (the current `entry[].changes[].field`, each with a value) or 'changed_fields' (the
    older list of names)."""
    if shape not in ("changes", "changed_fields"):
        raise ValueError(f"unknown webhook shape {shape!r}")
    entries = []
    for user_id, fields in changes.items():
        entry: dict[str, Any] = {"time": int(now.timestamp()), "id": user_id, "uid": user_id}
        if shape == "changes":
            entry["changes"] = [{"field": f, "value": _CHANGE_VALUES.get(f, {})} for f in fields]
        else:
            entry["changed_fields"] = list(fields)
        entries.append(entry)
    return {"object": "user", "entry": entries}


def signed_webhook(body: dict, app_secret: str) -> tuple[bytes, dict[str, str]]:
    """The raw POST body and the headers the Graph sends with it."""
    raw = json.dumps(body).encode()
    return raw, {"Content-Type": "application/json", "X-Hub-Signature-256":
                 hub_signature(app_secret, raw)}


def signed_request(user_id: str, app_secret: str, now: datetime) -> str:
    """A deauthorize or data-deletion callback's `signed_request` naming the user."""
    payload = {"algorithm": "HMAC-SHA256", "issued_at": int(now.timestamp()),
               "user_id": user_id}
    body = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
    mac = hmac.new(app_secret.encode(), body.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=") + "." + body


def pushes(world: World, settings: Settings, since: datetime, until: datetime
           ) -> list[tuple[bytes, dict[str, str]]]:
    """A user webhook for the subscribed users who liked a Page or posted in (since,
    until]: which fields changed, as Facebook says it (never what changed)."""
    changes: dict[str, list[str]] = {}
    for user_id in world.subscribers(NETWORK):
        with world.lock:
            liked = any(since < at <= until for at, _ in world.fb_likes.get(user_id, []))
            posted = any(since < post["at"] <= until for post in world.fb_posts.get(user_id, []))
        fields = (["likes"] if liked else []) + (["feed"] if posted else [])
        if fields:
            changes[user_id] = fields
    if not changes:
        return []
    return [signed_webhook(user_webhook(changes, until), settings.facebook_app_secret)]
