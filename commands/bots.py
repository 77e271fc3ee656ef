"""`flattr sandbox` and `flattr bots parse`: wired into the main CLI by `register`."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

DEMO_SCENARIO = Path(__file__).resolve().parents[1] / "bots" / "sandbox" / "scenarios" / "demo.json"
ENDPOINTS = {"x": ("liked_tweets", "users_tweets"), "facebook": ("likes", "posts")}


def register(subparsers: argparse._SubParsersAction) -> None:
    sandbox = subparsers.add_parser("sandbox", help="serve the X/Facebook sandbox until Ctrl-C")
    sandbox.add_argument(
        "--scenario",
        type=Path,
        default=DEMO_SCENARIO,
        help="scenario JSON file (default: the demo month)",
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.set_defaults(func=run_sandbox)

    bots = subparsers.add_parser("bots", help="bot diagnostics")
    bots_commands = bots.add_subparsers(dest="bots_command", required=True)
    parse = bots_commands.add_parser(
        "parse", help="print the activities one raw API response body yields, one JSON per line"
    )
    parse.add_argument("--network", choices=sorted(ENDPOINTS), required=True)
    parse.add_argument(
        "--endpoint", choices=[e for es in ENDPOINTS.values() for e in es], required=True
    )
    parse.add_argument(
        "--triggers",
        default="likes,reposts,explicit",
        help="X triggers switched on (explicit is always on)",
    )
    parse.add_argument("--actor", default="0", help="the account's user id (not in the body)")
    parse.add_argument("--handle", default=None, help="the service's X handle, for mentions")
    parse.add_argument(
        "--now", default=None, help="observation time for likes (ISO 8601; default: now)"
    )
    parse.add_argument("file", type=Path, help="a response body (JSON); - for stdin")
    parse.set_defaults(func=run_parse)


def run_sandbox(args: argparse.Namespace) -> int:
    from bots.sandbox import start_sandbox

    try:
        server = start_sandbox(args.scenario, host=args.host, port=args.port)
    except (OSError, ValueError, KeyError) as exc:
        print(f"flattr sandbox: cannot start: {exc}", file=sys.stderr)
        return 2
    print(
        f"sandbox listening on {server.base_url} (scenario {args.scenario}); Ctrl-C stops",
        flush=True,
    )
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def run_parse(args: argparse.Namespace) -> int:
    from bots.facebook import parse as facebook_parse
    from bots.x import parse as x_parse

    if args.endpoint not in ENDPOINTS[args.network]:
        return _fail(
            f"endpoint {args.endpoint} is not an endpoint of {args.network} "
            f"(use {' or '.join(ENDPOINTS[args.network])})"
        )
    triggers = frozenset(t.strip() for t in args.triggers.split(",") if t.strip())
    if triggers - x_parse.TRIGGERS:
        return _fail(f"unknown triggers {sorted(triggers - x_parse.TRIGGERS)}")
    try:
        text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text()
        body = json.loads(text)
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(UTC)
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"cannot read {args.file}: {exc}")
    except ValueError as exc:
        return _fail(f"{args.file} is not JSON (or --now is not a time): {exc}")
    try:
        if args.endpoint == "liked_tweets":
            found = x_parse.parse_liked_tweets(body, args.actor, now) if "likes" in triggers else []
            x_parse.check_page(body)
        elif args.endpoint == "users_tweets":
            found = x_parse.parse_users_tweets(body, args.actor, now, triggers, args.handle)
        elif args.endpoint == "likes":
            found = facebook_parse.parse_likes(body, args.actor, now)
        else:
            found = facebook_parse.parse_posts(body, args.actor, now)
    except x_parse.MalformedResponse as exc:
        return _fail(f"{args.file} is not a {args.network} {args.endpoint} response: {exc}")
    for activity in found:
        print(
            json.dumps(
                {
                    "network": activity.network,
                    "action": activity.action,
                    "external_id": activity.external_id,
                    "actor": activity.actor,
                    "occurred_at": activity.occurred_at.isoformat(),
                    "targets": [{"url": t.url, "identity": t.identity} for t in activity.targets],
                }
            )
        )
    return 0


def _fail(message: str) -> int:
    print(f"flattr bots parse: {message}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    """Stand-alone entry for trying these commands before the main CLI wires them in."""
    parser = argparse.ArgumentParser(prog="flattr")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
