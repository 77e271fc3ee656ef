"""Sign-up, sign-in, sign-out: local accounts with scrypt password hashes."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core import account_tokens, people
from core.errors import UserError
from core.money import parse_cents
from core.users import TooManySignIns, authenticate, replace_password, sign_up
from runtime import logs
from web import i18n, sandbox
from web.context import commit, db_session, flattr_app
from web.i18n import _
from web.names import amount
from web.security import (
    current_person,
    known_device,
    login_required,
    password_ok,
    safe_next,
    sign_in,
    sign_out,
)

bp = Blueprint("auth", __name__)


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("signup.html")
    app = flattr_app()
    form = request.form
    if form.get("password", "") != form.get("password2", ""):
        flash(_("The two passwords differ."), "error")
        return render_template("signup.html", name=form.get("name", "")), 400
    # The first budget, in force from this month; a form without the field (a script
    # written before it existed) gets the minimum.
    budget = parse_cents(form["budget"]) if "budget" in form else None
    person = sign_up(db_session(), app.rules, form.get("name", "").strip(),
                     form.get("password", ""), now=app.now(), email=form.get("email"),
                     budget=budget)
    person.language = i18n.language()  # their messages come in the language they signed up in
    sign_in(person)
    logs.event("auth.signed_up", person=person.id)
    if sandbox.living() is not None:  # a trial: something to flattr with from the start
        people.topup(db_session(), person, sandbox.WELCOME_MONEY, now=app.now())
        flash(_("Your wallet starts with %(amount)s of test money.",
                amount=amount(sandbox.WELCOME_MONEY, app.rules.currency)), "ok")
    flash(_("Welcome, %(name)s! Your budget of %(budget)s counts from this month."
            " Now connect an account.", name=person.name,
            budget=amount(budget or app.rules.min_monthly_budget, app.rules.currency)), "ok")
    return redirect(url_for("pages.me"), code=303)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    name = request.form.get("name", "").strip()
    try:
        person = authenticate(db_session(), name, request.form.get("password", ""),
                              now=flattr_app().now(), known_device=known_device)
    except TooManySignIns as exc:
        logs.event("auth.sign_in_paused", who=name[:64])
        flash(i18n.sentence(i18n.error_text(exc)), "error")
        return render_template("login.html", next=request.form.get("next", "")), 429
    if person is None:
        commit()  # the failure counts, though the response is an error
        logs.event("auth.sign_in_failed", who=name[:64])
        flash(_("Unknown name or wrong password."), "error")
        return render_template("login.html", next=request.form.get("next", "")), 401
    sign_in(person)
    logs.event("auth.signed_in", person=person.id)
    return redirect(safe_next(request.form.get("next")), code=303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    """Signs out everywhere: every session of the person ends (a copied cookie too)."""
    person = current_person()
    sign_out()
    if person is not None:
        logs.event("auth.signed_out", person=person.id)
    return redirect(url_for("pages.home"), code=303)


@bp.post("/me/password")
@login_required
def password() -> ResponseReturnValue:
    """A new password: every other session of the person ends; this browser stays in."""
    person = current_person()
    assert person is not None
    form = request.form
    if form.get("new_password", "") != form.get("new_password2", ""):
        flash(_("The two new passwords differ."), "error")
        return redirect(url_for("pages.me"), code=303)
    if not password_ok(person, form.get("password", "")):
        raise UserError("The current password is wrong.")
    replace_password(db_session(), person, form.get("new_password", ""))
    account_tokens.spend_every(db_session(), person.id, now=flattr_app().now())
    sign_in(person)
    logs.event("auth.password_changed", person=person.id)
    flash(_("Your password is changed, and you are signed out everywhere else."), "ok")
    return redirect(url_for("pages.me"), code=303)
