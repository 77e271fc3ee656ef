"""Forgot my password: ask by e-mail address (the same answer whether or not it belongs to
someone; limited like sign-in, core.account_tokens), then the link's page sets a new
password, ends every session and signs this browser in."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import func, select

from core import account_tokens, inputs
from core.errors import UserError
from core.models import Person
from core.users import end_sessions, set_password
from runtime import logs
from web import i18n, mail
from web.context import db_session, flattr_app, rollback
from web.i18n import _
from web.security import sign_in

bp = Blueprint("reset", __name__)
ANSWER = ("If an account uses that address, we sent it a link to choose a new password."
          " It works once, within an hour.")


@bp.route("/forgot", methods=["GET", "POST"])
def forgot() -> ResponseReturnValue:
    if request.method == "GET":
        return render_template("account_forgot.html")
    try:
        address = inputs.email(request.form.get("email"))
    except UserError as exc:
        flash(i18n.error_text(exc), "error")
        return render_template("account_forgot.html"), 400
    if address is None:
        flash(_("Give the e-mail address of your account."), "error")
        return render_template("account_forgot.html"), 400
    app, session = flattr_app(), db_session()
    found = session.execute(select(Person).where(
        func.lower(Person.email) == address.lower(), Person.deleted_at.is_(None),
        Person.password_hash.is_not(None))).scalars().all()
    for person in found:
        token = account_tokens.issue(session, person, account_tokens.RESET, now=app.now())
        if token is not None and person.email:
            mail.reset_link(person.email, person.name, token)
            logs.event("auth.reset_asked", person=person.id)
    flash(_(ANSWER), "ok")
    return redirect(url_for("reset.forgot"), code=303)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset(token: str) -> ResponseReturnValue:
    app, session = flattr_app(), db_session()
    if request.method == "GET":
        good = account_tokens.peek(session, token, account_tokens.RESET, now=app.now())
        return render_template("account_reset.html", token=token, good=good is not None), \
            200 if good else 400
    form = request.form
    try:
        if form.get("password", "") != form.get("password2", ""):
            raise UserError("The two passwords differ.")
        row = account_tokens.spend(session, token, account_tokens.RESET, now=app.now())
        person = session.get(Person, row.person_id) if row else None
        if person is None:
            return render_template("account_reset.html", token=token, good=False), 400
        set_password(person, form.get("password", ""))
    except UserError as exc:
        rollback()
        flash(i18n.error_text(exc), "error")
        return render_template("account_reset.html", token=token, good=True), 400
    account_tokens.spend_every(session, person.id, now=app.now())
    end_sessions(session, person)
    sign_in(person)
    logs.event("auth.password_reset", person=person.id)
    flash(_("Your password is changed. You are signed in here, and signed out everywhere"
            " else."), "ok")
    return redirect(url_for("pages.me"), code=303)
