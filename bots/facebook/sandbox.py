"""Graph API endpoints of the sandbox: /vNN.N/ paths, cursor and time paging with the token
and the echoed parameters in `paging.next`, Graph error bodies, always application/json."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from bots.facebook import NETWORK, sandbox_oauth
from bots.facebook.sandbox_errors import fb_error
from bots.sandbox.faults import Fault
from bots.sandbox.replies import Reply, html_reply, json_reply
from bots.sandbox.request import Request
from bots.sandbox.world import Grant, World

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
    out: dict[str, Any] = {"id": post["id"], "created_time": fb_time(post["at"])}
    if "message" in fields and post.get("message"):
        out["message"] = post["message"]
    if "status_type" in fields:
        out["status_type"] = post.get(
            "status_type", "shared_story" if post.get("link") else "mobile_status_update"
        )
    if "permalink_url" in fields:
        user, _, number = post["id"].partition("_")
        out["permalink_url"] = f"https://www.facebook.com/{user}/posts/{number}"
    if "attachments" in fields and post.get("link"):
        link = post["link"]
        shim = "https://l.facebook.com/l.php?u=" + quote(link, safe="") + "&h=AT0sandbox"
        attachment = {"type": "share", "url": shim, "unshimmed_url": link}
        if post.get("title"):
            attachment["title"] = post["title"]
        out["attachments"] = {"data": [attachment]}
    return out


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
    if injected.kind == "status":
        if injected.status in (502, 504):  # a proxy in front of the Graph answers in HTML
            return html_reply(injected.status, "<html><body>Bad Gateway</body></html>")
        return fb_error(injected.status, 2,
                        "An unexpected error has occurred. Please retry your request later.",
                        transient=True)
    return None
