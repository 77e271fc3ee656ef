"""CSRF tokens, the signed-in person (sessions that end server-side), known devices, the
guards views use, and the safe `next` after sign-in."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, redirect, request, session, url_for
from flask.wrappers import Response
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from core import inputs
from core.models import Person
from core.users import check_current_password
from web.context import commit, db_session, flattr_app
from web.i18n import _

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
    if request.routing_exception is not None:
        return  # no such route or method: the 404 or 405 comes next, not a CSRF error
    if request.blueprint in CSRF_EXEMPT_BLUEPRINTS:
        return
    expected = session.get("csrf")
    given = request.form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not expected or not hmac.compare_digest(str(expected).encode(), given.encode()):
        abort(400, description=_("The form expired or did not come from this site "
                                 "(CSRF check failed). Reload the page and try again."))


def check_inputs() -> None:
    """before_request: every query, form and path value is text without a NUL byte or a
    control character, of a sane length (core.inputs); a refusal is a 400 with the field's
    name. Fields with a column of their own are checked again, to its length, where read."""
    for source in (request.args, request.form):
        for key, values in source.lists():
            inputs.text(key, field="a field name", max_length=100)
            for value in values:
                inputs.text(value, field=f"the field {key[:40]!r}")
    for key, value in (request.view_args or {}).items():
        if isinstance(value, str):
            inputs.text(value, field=f"the address's {key}", max_length=2048)


def sign_in(person: Person) -> None:
    session.clear()  # a new session on every sign-in: no fixation
    session["person_id"] = person.id
    session["generation"] = person.session_generation
    session["csrf"] = secrets.token_urlsafe(32)
    session.permanent = True
    g.person = person
    g.known_device = person


def sign_out() -> None:
    """End the person's sessions everywhere (every copy of every cookie), then this one."""
    from core.users import end_sessions

    person = current_person()
    if person is not None:
        end_sessions(db_session(), person)
    session.clear()
    g.person = None


def current_person() -> Person | None:
    """The signed-in person: the cookie's person, if the cookie carries the person's current
    session generation (core.users.end_sessions raises it); otherwise nobody."""
    if "person" not in g:
        person_id = session.get("person_id")
        person = db_session().get(Person, person_id) if isinstance(person_id, int) else None
        if person is not None and session.get("generation") != person.session_generation:
            session.clear()
            person = None
        g.person = person
    return cast(Person | None, g.person)


# -- known devices: a browser that signed in as a person before -------------------------

DEVICE_COOKIE = "flattr_device"
DEVICE_MAX_AGE = 365 * 86400


def _devices() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="flattr-known-device")


def _password_mark(person: Person) -> str:
    """Changes with the password: a new password forgets every known device."""
    return hashlib.sha256((person.password_hash or "").encode()).hexdigest()[:16]


def known_device(person: Person) -> bool:
    """Whether this browser carries a device cookie of this person (and password)."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return False
    try:
        data = _devices().loads(raw, max_age=DEVICE_MAX_AGE)
    except BadData:
        return False
    return (isinstance(data, dict) and data.get("p") == person.id
            and hmac.compare_digest(str(data.get("m", "")).encode(),
                                    _password_mark(person).encode()))


def remember_device(response: Response) -> Response:
    """after_request: a browser that just signed in is a known device of that person."""
    person = g.get("known_device")
    if person is not None:
        secure = current_app.config.get("SESSION_COOKIE_SECURE", False)
        response.set_cookie(DEVICE_COOKIE,
                            _devices().dumps({"p": person.id, "m": _password_mark(person)}),
                            max_age=DEVICE_MAX_AGE, httponly=True, samesite="Lax",
                            secure=bool(secure))
    return response


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


# A path of ours, spelled plainly: no scheme, host, backslash, percent-escape (an encoded
# slash or tab), control character or space; no "//" anywhere; no query.
_PLAIN_PATH = re.compile(r"(?:/[A-Za-z0-9._~\-]+)+/?|/")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: `target` only when it is provably a page of this site
    (plainly spelled, and a GET route of the app); the home page otherwise. Browsers drop
    tabs and newlines and read a backslash as a slash, so anything else could leave the site
    (`/%09/evil.example` became `//evil.example`)."""
    if not isinstance(target, str) or not _PLAIN_PATH.fullmatch(target) \
            or any(part in (".", "..") for part in target.split("/")):
        return url_for("pages.home")
    try:
        current_app.url_map.bind("localhost").match(target, method="GET")
    except RequestRedirect:
        pass  # a route of ours, with or without its trailing slash
    except HTTPException:
        return url_for("pages.home")
    return target


def password_ok(person: Person, password: str) -> bool:
    """Whether `password` is the person's; a wrong one counts towards the sign-in limit,
    and is committed (the caller then raises a UserError, which rolls back the rest)."""
    if check_current_password(db_session(), person, password, now=flattr_app().now()):
        return True
    commit()
    return False
