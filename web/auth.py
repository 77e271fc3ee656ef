"""Sign-up, sign-in, sign-out: local accounts with scrypt password hashes."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from core.users import authenticate, sign_up
from jobs import logs
from web.context import db_session, flattr_app
from web.security import safe_next, sign_in, sign_out

bp = Blueprint("auth", __name__)


@bp.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("signup.html")
    app = flattr_app()
    form = request.form
    if form.get("password", "") != form.get("password2", ""):
        flash("The two passwords differ.", "error")
        return render_template("signup.html", name=form.get("name", "")), 400
    person = sign_up(db_session(), app.rules, form.get("name", "").strip(),
                     form.get("password", ""), now=app.now(), email=form.get("email"))
    sign_in(person)
    logs.event("auth.signed_up", person=person.id)
    flash(f"Welcome, {person.name}! Set your monthly budget and connect an account.", "ok")
    return redirect(url_for("pages.me"), code=303)


@bp.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("login.html", next=request.args.get("next", ""))
    person = authenticate(db_session(), request.form.get("name", "").strip(),
                          request.form.get("password", ""))
    if person is None:
        logs.event("auth.sign_in_failed", who=request.form.get("name", "")[:64])
        flash("Unknown name or wrong password.", "error")
        return render_template("login.html", next=request.form.get("next", "")), 401
    sign_in(person)
    logs.event("auth.signed_in", person=person.id)
    return redirect(safe_next(request.form.get("next")), code=303)


@bp.post("/logout")
def logout() -> ResponseReturnValue:
    sign_out()
    return redirect(url_for("pages.home"), code=303)
