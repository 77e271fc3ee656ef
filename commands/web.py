"""`flattr web` (serve the web app), `flattr tokens ...` (keys and refreshes), `flattr admin`."""

from __future__ import annotations

import argparse
import logging
import sys

from commands import args as arguments
from core import crypto
from core.errors import UserError
from core.models import Person
from core.people import find_person
from runtime import logs
from runtime.app import App, build_app, load_settings, utc_now


def register(subparsers: argparse._SubParsersAction) -> None:
    web = subparsers.add_parser("web", help="serve the web app (sign-in, accounts, webhooks)")
    web.add_argument("--host", help="address to listen on (default: FLATTR_WEB_HOST)")
    web.add_argument("--port", type=arguments.integer(0, 65535),
                     help="port (default: FLATTR_WEB_PORT)")
    web.add_argument("--with-sandbox", action="store_true",
                     help="a living sandbox: the emulated networks, a clock that moves on its"
                          " own and the worker, in this process (OAuth goes to the sandbox)")
    web.add_argument("--scenario", help="sandbox scenario file (default: a generated one)")
    web.add_argument("--sandbox-start", metavar="ISO8601", type=arguments.moment,
                     help="where the sandbox clock starts (default: two days before the end"
                          " of this month, or after what the database already holds)")
    web.add_argument("--sandbox-speed", type=arguments.decimal(1.0, 86400.0), default=3600.0,
                     metavar="SECONDS", help="simulated seconds per second (default 3600: an"
                                             " hour a second)")
    web.add_argument("--sandbox-port", type=arguments.integer(0, 65535), default=0,
                     help="sandbox port (default: any free one); a worker in another process "
                          "reaches it with FLATTR_SANDBOX_URL=http://127.0.0.1:PORT")
    web.set_defaults(func=_web)

    tokens = subparsers.add_parser("tokens", help="token keys and refreshes").add_subparsers(
        dest="tokens_command", required=True)
    tokens.add_parser("genkey", help="print a new key for FLATTR_TOKEN_KEYS").set_defaults(
        func=_genkey)
    tokens.add_parser("refresh", help="refresh X tokens that expire soon").set_defaults(
        func=_refresh)
    tokens.add_parser("reseal", help="re-encrypt every token under the first key").set_defaults(
        func=_reseal)

    admin = subparsers.add_parser("admin", help="make a person an operator (or not)")
    admin.add_argument("name")
    admin.add_argument("--revoke", action="store_true")
    admin.set_defaults(func=_admin)


def _web(args: argparse.Namespace) -> int:
    from web.app import create_app
    from web.server import make_production

    logs.configure("INFO")
    logging.getLogger("web").setLevel(logging.INFO)  # the access log
    logging.getLogger("apscheduler").setLevel(logging.ERROR)  # the living sandbox's worker
    settings = load_settings()
    living = None
    if args.with_sandbox:
        if settings.networks != "sandbox":
            raise UserError("--with-sandbox needs FLATTR_NETWORKS=sandbox")
        living = _start_living(settings, args)
        app = living.app
    else:
        app = build_app(settings)
    try:
        app.require_schema()
        host = args.host or settings.web_host
        port = settings.web_port if args.port is None else args.port
        server = make_production(create_app(app, living=living), host, port)
        print(f"flattr web: serving http://{host}:{server.server_port}/ (waitress; put TLS in"
              " front of it for live)", file=sys.stderr)
        if living is not None:
            from bots.sandbox.services import describe

            local = host if host not in ("0.0.0.0", "::", "") else "127.0.0.1"
            living.push_webhooks_to(f"http://{local}:{server.server_port}")
            state = living.clock.state()
            print(f"flattr web: sandbox networks at {living.sandbox.base_url}; the sandbox"
                  f" clock stands at {state.now:%Y-%m-%d %H:%M} UTC and starts when the first"
                  f" account is linked, {state.speed:g} times faster than real time (pause"
                  " it, speed it up or jump to the month's end on your page); the worker"
                  " runs in this process; the networks:", *describe(living.sandbox),
                  sep="\n", file=sys.stderr)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
    finally:
        if living is not None:
            living.stop()
        else:
            app.close()
    return 0


def _start_living(settings, args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from jobs.living import default_start, resume_after, start_living

    start = args.sandbox_start or default_start(resume_after(settings, utc_now()))
    return start_living(settings, start=start, speed=args.sandbox_speed,
                        scenario=args.scenario, port=args.sandbox_port, wait_for_link=True)


def _genkey(args: argparse.Namespace) -> int:
    print(crypto.generate_key())
    return 0


def _refresh(args: argparse.Namespace) -> int:
    from jobs.tokens import refresh_tokens

    app = _app()
    try:
        result = refresh_tokens(app.db, app.settings, now=app.now())
    finally:
        app.close()
    print(f"refreshed {result.refreshed}, failed {result.failed} (needs reconnect), "
          f"raced {result.raced}")
    return 0


def _reseal(args: argparse.Namespace) -> int:
    from jobs.tokens import reseal_all

    app = _app()
    try:
        count = reseal_all(app.db, app.settings)
    finally:
        app.close()
    print(f"re-encrypted the tokens of {count} accounts under the first key")
    return 0


def _admin(args: argparse.Namespace) -> int:
    app = _app()
    try:
        with app.db.unit_of_work() as session:
            person: Person = find_person(session, args.name)
            person.is_admin = not args.revoke
    finally:
        app.close()
    print(f"{args.name} is {'no longer ' if args.revoke else ''}an operator")
    return 0


def _app() -> App:
    app = build_app()
    app.require_schema()
    return app
