"""The Flask application factory."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta

from flask import Flask, flash, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask.wrappers import Response
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from config import ConfigError, Settings
from core.db import ping
from core.errors import UserError
from core.money import format_cents
from runtime import logs
from runtime.app import App
from runtime.keys import key_ring
from web import context
from web.security import check_csrf, csrf_token, current_person

SESSION_LIFETIME = timedelta(days=14)


def create_app(app: App, *, testing: bool = False) -> Flask:
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
    context.install(flask_app, app)
    flask_app.before_request(check_csrf)
    flask_app.after_request(_security_headers)
    flask_app.jinja_env.filters["money"] = lambda cents: format_cents(int(cents or 0))
    flask_app.jinja_env.globals.update(csrf_token=csrf_token, current_person=current_person,
                                       currency=app.rules.currency)

    from web import accounts, admin, auth, pages, webhooks

    for blueprint in (auth.bp, pages.bp, accounts.bp, admin.bp, webhooks.bp):
        flask_app.register_blueprint(blueprint)
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


def session_secret(settings: Settings) -> str:
    """FLATTR_SESSION_SECRET; in sandbox mode, derived from the token key when unset."""
    if settings.session_secret:
        return settings.session_secret
    if settings.networks == "live":
        raise ConfigError(["FLATTR_SESSION_SECRET: required when FLATTR_NETWORKS=live"])
    key = key_ring(settings).first
    return hmac.new(key.encode(), b"flattr-web-session", hashlib.sha256).hexdigest()


def _user_error(exc: UserError) -> ResponseReturnValue:
    context.rollback()
    back = request.referrer or ""
    origin = request.host_url.rstrip("/")
    if request.method == "POST" and back.startswith(origin + "/"):
        flash(str(exc), "error")
        return redirect(back[len(origin):], code=303)
    return render_template("error.html", code=400, message=str(exc)), 400


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    if request.blueprint == "webhooks" or request.path == "/healthz":
        return jsonify(error=exc.name), exc.code or 500
    return render_template("error.html", code=exc.code, message=exc.description), exc.code or 500


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
