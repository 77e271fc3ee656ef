"""The Flask application factory."""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
from datetime import timedelta

from flask import Flask, flash, jsonify, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask.wrappers import Response
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import IntegerConverter

from config import ConfigError, Settings
from core.accounts import label as account_label
from core.db import ping
from core.errors import UserError
from jobs.living import LivingSandbox
from runtime import logs
from runtime.app import App
from runtime.keys import key_ring
from web import context, i18n, names, words
from web.i18n import _
from web.security import check_csrf, check_inputs, csrf_token, current_person, remember_device

SESSION_LIFETIME = timedelta(days=14)


def create_app(app: App, *, testing: bool = False,
               living: LivingSandbox | None = None) -> Flask:
    """The web app over `app`; with `living`, also the living sandbox's clock control
    (and its app must be `living.app`)."""
    logs.quiet_leaky_loggers()
    settings = app.settings
    flask_app = Flask(__name__)
    secure = (settings.web_base_url or "").startswith("https://")
    flask_app.config.update(
        SECRET_KEY=session_secret(settings),
        SESSION_COOKIE_NAME="flattr_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PREFERRED_URL_SCHEME="https" if secure else "http",
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        MAX_CONTENT_LENGTH=1024 * 1024,
        TESTING=testing,
    )
    flask_app.url_map.converters["int"] = AsciiInt
    flask_app.logger.addFilter(HideValues())
    context.install(flask_app, app)
    flask_app.before_request(check_inputs)
    flask_app.before_request(check_csrf)
    flask_app.after_request(_security_headers)
    flask_app.after_request(remember_device)
    currency = app.rules.currency
    i18n.install(flask_app, currency, current_person)
    flask_app.jinja_env.globals.update(csrf_token=csrf_token, current_person=current_person,
                                       currency=currency, who=_who, link_text=_link_text,
                                       status_label=account_label,
                                       trigger_label=words.trigger_label,
                                       claim_kinds=words.CLAIM_KINDS)

    from web import (
        accounts,
        admin,
        auth,
        language,
        pages,
        reset_pages,
        sandbox,
        settings_pages,
        webhooks,
    )

    for blueprint in (auth.bp, pages.bp, accounts.bp, admin.bp, webhooks.bp, settings_pages.bp,
                      reset_pages.bp, language.bp):
        flask_app.register_blueprint(blueprint)
    sandbox.install(flask_app, living)
    flask_app.register_error_handler(UserError, _user_error)
    flask_app.register_error_handler(HTTPException, _http_error)

    @flask_app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        try:
            ping(app.db)
        except SQLAlchemyError:
            return jsonify(status="unavailable", database="unreachable"), 503
        return jsonify(status="ok", database="ok", networks=settings.networks)

    return flask_app


@pass_context
def _who(context: Context, held: str | None) -> Markup:
    """An identity by its name on its network (the view passes `names`)."""
    return names.who_html(held, context.get("names") or {})


@pass_context
def _link_text(context: Context, url: str, title: str | None, held: str | None = None) -> str:
    return names.link_text(url, title, held, context.get("names") or {})


def session_secret(settings: Settings) -> str:
    """FLATTR_SESSION_SECRET; in sandbox mode, derived from the token key when unset."""
    if settings.session_secret:
        return settings.session_secret
    if settings.networks == "live":
        raise ConfigError(["FLATTR_SESSION_SECRET: required when FLATTR_NETWORKS=live"])
    key = key_ring(settings).first
    return hmac.new(key.encode(), b"flattr-web-session", hashlib.sha256).hexdigest()


# What a database error's text may carry of the row (engines hide SQL parameters, but
# PostgreSQL's DETAIL repeats the values: "Failing row contains (...)", "Key (email)=(...)").
_DETAIL = re.compile(r"^[ \t]*DETAIL:.*$", re.MULTILINE)
_EMAIL = re.compile(r"[^\s@()\[\]\"',;:<>]+@[^\s@()\[\]\"',;:<>]+")


def hide_values(text: str) -> str:
    return _EMAIL.sub("[e-mail]", _DETAIL.sub("DETAIL: [hidden]", text))


class HideValues(logging.Filter):
    """On the app's logger (Flask logs a request's unexpected exception there): the
    traceback without row values or e-mail addresses."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and not record.exc_text:
            record.exc_text = hide_values(logging.Formatter().formatException(record.exc_info))
        if isinstance(record.msg, str):
            record.msg = hide_values(record.msg)
        return True


class AsciiInt(IntegerConverter):
    """`<int:...>` with ASCII digits only (werkzeug's takes any Unicode digit: `\\d`)."""

    regex = r"[0-9]{1,18}"


# Where a refused form sends the person back to, with the message: a fixed page per form,
# never the Referer (which anyone can set). Forms not listed render the error page (400).
BACK_TO = {"pages.set_budget": "pages.me", "pages.topup": "pages.me",
           "pages.announce": "pages.me", "pages.withdraw": "pages.me",
           "pages.notifications": "pages.creator", "pages.opt_out": "pages.creator",
           "auth.password": "pages.me", "accounts.disconnect": "pages.me",
           "accounts.triggers": "pages.me", "account.password": "account.index",
           "account.email": "account.index", "account.delete": "account.delete",
           "admin.topup": "admin.index", "admin.grant_claim": "admin.index",
           "admin.end_sessions_of": "admin.index", "admin.unpause_sign_ins": "admin.index"}
FORM_PAGES = {"auth.signup": "signup.html", "auth.login": "login.html"}


def _user_error(exc: UserError) -> ResponseReturnValue:
    context.rollback()
    if request.blueprint == "webhooks":
        return jsonify(error=str(exc)), 400
    message = i18n.error_text(exc)
    if request.method == "POST" and request.endpoint in BACK_TO and current_person():
        flash(message, "error")
        return redirect(url_for(BACK_TO[request.endpoint]), code=303)
    if request.method == "POST" and request.endpoint in FORM_PAGES:
        flash(message, "error")
        return render_template(FORM_PAGES[request.endpoint], next="",
                               name=request.form.get("name", "")[:64]), 400
    return render_template("error.html", code=400, message=message), 400


# What an error page says where the code gave no words of its own (werkzeug's defaults
# are English only).
HTTP_MESSAGES = {
    400: i18n.N_("The request was not understood."),
    403: i18n.N_("You are not allowed to see this page."),
    404: i18n.N_("There is no such page here."),
    405: i18n.N_("That is not a way to use this address."),
    413: i18n.N_("What was sent is too large."),
    429: i18n.N_("Too many requests: wait a little and try again."),
    500: i18n.N_("Something went wrong on our side. Please try again later."),
}


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    if request.blueprint == "webhooks" or request.path == "/healthz":
        return jsonify(error=exc.name), exc.code or 500
    message = exc.description
    if message == type(exc).description or not message:  # werkzeug's own words
        message = _(HTTP_MESSAGES.get(exc.code or 500, HTTP_MESSAGES[500]))
    return render_template("error.html", code=exc.code, message=message), exc.code or 500


def _security_headers(response: Response) -> Response:
    headers = response.headers
    headers.setdefault("Content-Security-Policy",
                       "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    # The callback URL carries the OAuth code: never send it on as a Referer.
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.path.startswith(("/me", "/creator", "/admin", "/callback")):
        headers.setdefault("Cache-Control", "no-store")
    return response
