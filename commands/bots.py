"""`flattr sandbox` and `flattr bots parse`: wired into the main CLI by `register`. The
networks and their endpoints come from the registry (NetworkSpec.parsers)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bots import registry
from bots.base import BadParseArgument, MalformedResponse
from bots.registry import ParseRequest
from commands import args as arguments
from core import inputs, triggers
from core.errors import UserError

DEMO_SCENARIO = Path(__file__).resolve().parents[1] / "bots" / "sandbox" / "scenarios" / "demo.json"


def endpoints() -> dict[str, tuple[str, ...]]:
    """Each registered network's parsable endpoints."""
    return {spec.name: tuple(spec.parsers) for spec in registry.all_networks() if spec.parsers}


def register(subparsers: argparse._SubParsersAction) -> None:
    sandbox = subparsers.add_parser("sandbox", help="serve the X/Facebook sandbox until Ctrl-C")
    sandbox.add_argument(
        "--scenario",
        type=Path,
        default=DEMO_SCENARIO,
        help="scenario JSON file (default: the demo month)",
    )
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=arguments.integer(0, 65535), default=8765)
    sandbox.set_defaults(func=run_sandbox)

    bots = subparsers.add_parser("bots", help="bot diagnostics")
    bots_commands = bots.add_subparsers(dest="bots_command", required=True)
    parse = bots_commands.add_parser(
        "parse", help="print the activities one raw API response body yields, one JSON per line"
    )
    known = endpoints()
    parse.add_argument("--network", choices=sorted(known), required=True)
    parse.add_argument(
        "--endpoint", choices=[e for es in known.values() for e in es], required=True
    )
    parse.add_argument(
        "--triggers",
        default=None,
        help="the network's triggers switched on (default: all; always-on ones always count,"
        " e.g. X's explicit)",
    )
    parse.add_argument("--actor", default="0", help="the account's user id (not in the body)")
    parse.add_argument("--handle", default=None, type=arguments.handle,
                       help="the service's X handle, for mentions")
    parse.add_argument(
        "--now", default=None, type=arguments.moment,
        help="observation time for likes (ISO 8601; default: now)"
    )
    parse.add_argument("file", help="a response body (JSON); - for stdin")
    parse.set_defaults(func=run_parse)


def run_sandbox(args: argparse.Namespace) -> int:
    from bots.sandbox import start_sandbox

    try:
        server = start_sandbox(args.scenario, host=args.host, port=args.port)
    except (OSError, ValueError, KeyError) as exc:
        print(f"flattr sandbox: cannot start: {exc}", file=sys.stderr)
        return 2
    from bots.sandbox.services import describe

    print(f"sandbox listening on {server.base_url} (scenario {args.scenario}); Ctrl-C stops",
          *describe(server), sep="\n", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def run_parse(args: argparse.Namespace) -> int:
    spec = registry.get(args.network)
    if args.endpoint not in spec.parsers:
        return _fail(
            f"endpoint {args.endpoint} is not an endpoint of {args.network} "
            f"(use {' or '.join(spec.parsers)})"
        )
    given = (spec.trigger_names if args.triggers is None
             else [t.strip() for t in args.triggers.split(",") if t.strip()])
    if unknown := triggers.unknown(given, spec.trigger_names):
        return _fail(f"unknown triggers {unknown}")
    chosen = frozenset(given) | spec.always_on
    try:
        text = (sys.stdin.read(inputs.MAX_JSON_BYTES + 1) if str(args.file) == "-"
                else arguments.read_file(args.file))
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"cannot read {args.file}: {exc}")
    except UserError as exc:  # a directory, a missing file, too big
        return _fail(str(exc))
    try:
        body = ([inputs.load_json(line, what=f"{args.file} line {n}")
                 for n, line in enumerate(text.splitlines(), 1) if line.strip()]
                if args.endpoint in spec.json_lines
                else inputs.load_json(text, what=str(args.file)))
    except UserError as exc:  # read, but not JSON: a malformed body
        return _fail(str(exc), MALFORMED)
    now = args.now if args.now is not None else datetime.now(UTC)
    if isinstance(now, str):  # called without the parser (tests): the same check
        try:
            now = inputs.moment(now)
        except UserError as exc:
            return _fail(str(exc))
    try:
        found = spec.parsers[args.endpoint](ParseRequest(body, args.actor, now, chosen,
                                                         args.handle))
    except MalformedResponse as exc:
        return _fail(f"{args.file} is not a {args.network} {args.endpoint} response: {exc}",
                     MALFORMED)
    except BadParseArgument as exc:
        return _fail(str(exc))
    allowed = spec.allowed_actions(chosen)
    for activity in (a for a in found if a.action in allowed):
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


# Exit statuses of `bots parse`: 1 for bad arguments or an unreadable file, as everywhere;
# 2 when the file holds no response of that endpoint (an error body such as X's problem
# details, or not JSON at all), so a script can tell "the network said no" from a typo.
BAD_INPUT, MALFORMED = 1, 2


def _fail(message: str, status: int = BAD_INPUT) -> int:
    print(f"flattr bots parse: {message}", file=sys.stderr)
    return status
