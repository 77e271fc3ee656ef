"""The `flattr` command: parses arguments, builds the app once, maps errors to exit codes.

This is the composition root of the command line: it is the only package allowed to
import every other one (jobs, web, bots, runtime), so none of them imports another's CLI."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from sqlalchemy.exc import OperationalError

from bots import networks
from commands import args as arguments
from commands import bots, money, web, worker
from config import ConfigError
from core.errors import UserError
from runtime import logs

EXIT_USER_ERROR = 1
EXIT_CONFIG_ERROR = 3


def build_parser() -> argparse.ArgumentParser:
    networks.install()  # the commands' choices of networks come from the registry
    parser = arguments.Parser(
        prog="flattr", description="Automatic flattrs from social activity: money, bots, jobs."
    )
    parser.add_argument(
        "--now", metavar="ISO8601", type=arguments.moment,
        help="act as if the current time were this (replays, demos and tests)")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in (money, bots, worker, web):
        group.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    logs.configure(logging.WARNING, timestamps=False)  # plain warnings, redacted
    parser = build_parser()
    try:
        arguments.check_argv(sys.argv[1:] if argv is None else argv)
        args = parser.parse_args(argv)
    except argparse.ArgumentError as exc:
        if arguments.is_usage_error(parser, exc):
            parser.error(str(exc))  # exits 2
        print(f"flattr: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except UserError as exc:
        print(f"flattr: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    try:
        return int(args.func(args) or 0)
    except ConfigError as exc:
        print(f"flattr: {exc}", file=sys.stderr)
        return EXIT_CONFIG_ERROR
    except UserError as exc:
        print(f"flattr: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OperationalError as exc:
        print(f"flattr: database error: {str(exc.orig).strip().splitlines()[0]}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # `flattr ... | head`: the reader left; not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
