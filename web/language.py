"""The language switch: a link per language for everyone (a cookie, no JavaScript), and
for a signed-in person their stored setting (a form on every page and on their page)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, g, redirect, request
from flask.typing import ResponseReturnValue
from flask_babel import refresh
from werkzeug.wrappers import Response

from runtime import i18n as languages
from web import i18n
from web.context import db_session
from web.i18n import _
from web.security import current_person, login_required, safe_next

bp = Blueprint("language", __name__)


def _remember(response: Response, language: str | None) -> Response:
    if language is None:
        response.delete_cookie(i18n.COOKIE)
    else:
        response.set_cookie(i18n.COOKIE, language, max_age=i18n.COOKIE_MAX_AGE,
                            httponly=True, samesite="Lax",
                            secure=request.scheme == "https")
    return response


def _now_in(language: str | None) -> None:
    """Words from here on (the flash below) in the language just chosen."""
    refresh()
    g.pop("language", None)


@bp.get("/language/<language>")
def switch(language: str) -> ResponseReturnValue:
    """A visitor's choice, kept in a cookie (a signed-in person's setting wins over it)."""
    chosen = languages.supported(language)
    if chosen is None or chosen != language:
        abort(404)
    return _remember(redirect(safe_next(request.args.get("next")), code=303), chosen)


@bp.post("/me/language")
@login_required
def choose() -> ResponseReturnValue:
    """A person's setting: a language, or "" to follow the browser."""
    person = current_person()
    assert person is not None
    raw = request.form.get("language", "")
    chosen = languages.supported(raw)
    if raw and chosen != raw:
        abort(400, description=_("Choose one of the languages offered."))
    person.language = chosen
    db_session().merge(person)
    _now_in(chosen)
    if chosen is None:
        flash(_("The pages now follow your browser's language."), "ok")
    else:
        flash(_("The pages and your messages are now in %(language)s.",
                language=languages.language_name(chosen)), "ok")
    target = safe_next(request.form.get("next") or "/me")
    return _remember(redirect(target, code=303), chosen)
