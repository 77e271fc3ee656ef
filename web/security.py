"""CSRF tokens, the signed-in person, and the guards views use."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, g, redirect, request, session, url_for

from core.models import Person
from web.context import db_session

F = TypeVar("F", bound=Callable[..., Any])
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Endpoints that are POSTed by the networks, not by a signed-in browser: their requests
# are verified by signature instead (web/webhooks.py).
CSRF_EXEMPT_BLUEPRINTS = frozenset({"webhooks"})


def csrf_token() -> str:
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return cast(str, token)


def check_csrf() -> None:
    """before_request: every unsafe method needs the session's token, in the form or header."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.blueprint in CSRF_EXEMPT_BLUEPRINTS:
        return
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not hmac.compare_digest(str(expected), given):
        abort(400, description="The form expired or did not come from this site "
                               "(CSRF check failed). Reload the page and try again.")


def sign_in(person: Person) -> None:
    session.clear()  # a new session on every sign-in: no fixation
    session["person_id"] = person.id
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True


def sign_out() -> None:
    session.clear()


def current_person() -> Person | None:
    if "person" not in g:
        person_id = session.get("person_id")
        g.person = db_session().get(Person, person_id) if person_id else None
    return cast(Person | None, g.person)


def login_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if current_person() is None:
            return redirect(url_for("auth.login", next=request.path))
        return view(*args, **kwargs)

    return cast(F, wrapped)


def admin_required(view: F) -> F:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        person = current_person()
        if person is None:
            return redirect(url_for("auth.login", next=request.path))
        if not person.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return cast(F, wrapped)


def safe_next(target: str | None) -> str:
    """Only local paths: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("pages.home")
