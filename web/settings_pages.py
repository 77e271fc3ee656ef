"""The settings page (reached from /me): e-mail address (changed once the new address
confirms), password, download my data, delete my account."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask.wrappers import Response
from sqlalchemy import select

from core import account_tokens, inputs, people
from core.account_deletion import anonymous_name, delete_account
from core.errors import UserError
from core.export import export_person
from core.models import Person, Settlement
from core.money import format_cents
from core.users import replace_password
from runtime import logs
from web import mail
from web.context import db_session, flattr_app
from web.i18n import _
from web.names import amount
from web.security import current_person, login_required, password_ok, sign_in, sign_out

bp = Blueprint("account", __name__)


def _me() -> Person:
    person = current_person()
    assert person is not None  # login_required ran first
    return person


@bp.get("/me/settings")
@login_required
def index() -> ResponseReturnValue:
    return render_template("account_settings.html", person=_me())


@bp.post("/me/settings/password")
@login_required
def password() -> ResponseReturnValue:
    """A new password: every other session ends, this browser stays signed in."""
    person, form = _me(), request.form
    if form.get("new_password", "") != form.get("new_password2", ""):
        raise UserError("The two new passwords differ.")
    if not password_ok(person, form.get("password", "")):
        raise UserError("The current password is wrong.")
    replace_password(db_session(), person, form.get("new_password", ""))
    account_tokens.spend_every(db_session(), person.id, now=flattr_app().now())
    sign_in(person)
    if person.email:
        mail.password_changed(person.email, person.name)
    logs.event("auth.password_changed", person=person.id)
    flash(_("Your password is changed, and you are signed out everywhere else."), "ok")
    return redirect(url_for("account.index"), code=303)


@bp.post("/me/settings/email")
@login_required
def email() -> ResponseReturnValue:
    person = _me()
    if not password_ok(person, request.form.get("password", "")):
        raise UserError("The current password is wrong.")
    new = inputs.email(request.form.get("email"), field=_("new e-mail address"))
    if new is None:
        raise UserError("Give the new e-mail address.")
    if new == person.email:
        raise UserError("That is already your e-mail address.")
    ask_to_confirm(person, new)
    return redirect(url_for("account.index"), code=303)


def ask_to_confirm(person: Person, new: str) -> None:
    """Send the link that makes `new` the person's address; tell the old address. Only the
    newest request counts: the links sent before stop working. The caller checked the
    person's password."""
    session, now = db_session(), flattr_app().now()
    account_tokens.spend_all(session, person.id, account_tokens.EMAIL, now=now)
    token = account_tokens.issue(session, person, account_tokens.EMAIL, now=now, new_email=new)
    if token is None:
        raise UserError("You asked for several e-mail changes lately: wait a quarter of an"
                        " hour and try again.")
    mail.confirm_address(new, person.name, token)
    if person.email:
        mail.address_changing(person.email, person.name, new)
    logs.event("auth.email_change_asked", person=person.id)
    flash(_("We sent a link to %(new)s: your address changes when you open it. Until then"
            " nothing changes.", new=new), "ok")


@bp.route("/email/confirm/<token>", methods=["GET", "POST"])
def confirm_email(token: str) -> ResponseReturnValue:
    """The link from the mail: a page with a button (a link checker that opens the link
    changes nothing), then the change."""
    app, session = flattr_app(), db_session()
    if request.method == "GET":
        row = account_tokens.peek(session, token, account_tokens.EMAIL, now=app.now())
        return render_template("account_email_confirm.html", token=token,
                               new_email=row.new_email if row else None), 200 if row else 400
    row = account_tokens.spend(session, token, account_tokens.EMAIL, now=app.now())
    person = session.get(Person, row.person_id) if row else None
    if row is None or person is None:
        return render_template("account_email_confirm.html", token=token,
                               new_email=None), 400
    person.email = row.new_email
    # every other link stops working: an older address request (a typo's owner) and any
    # reset link sent to the old address (maybe the reason for the change)
    account_tokens.spend_every(session, person.id, now=app.now())
    logs.event("auth.email_changed", person=person.id)
    flash(_("Your e-mail address is now %(email)s.", email=row.new_email), "ok")
    return redirect(url_for("account.index" if current_person() else "auth.login"), code=303)


@bp.get("/me/export")
@login_required
def export() -> ResponseReturnValue:
    app, person = flattr_app(), _me()
    data = export_person(db_session(), person, currency=app.rules.currency, now=app.now())
    day = app.now().strftime("%Y-%m-%d")
    return Response(json.dumps(data, indent=2, ensure_ascii=False) + "\n",
                    mimetype="application/json",
                    headers={"Content-Disposition":
                             f'attachment; filename="flattr-{person.name}-{day}.json"'})


@bp.route("/me/delete", methods=["GET", "POST"])
@login_required
def delete() -> ResponseReturnValue:
    app, person, session = flattr_app(), _me(), db_session()
    if request.method == "GET":
        return render_template(
            "account_delete.html", person=person,
            wallet=people.wallet_balance(session, person.id),
            closing=session.execute(select(Settlement.period)
                                    .where(Settlement.stage != "done")).first() is not None)
    if not password_ok(person, request.form.get("password", "")):
        raise UserError("The password is wrong: your account is not deleted.")
    if request.form.get("confirm") != "yes":
        raise UserError("Tick the box to confirm that you want your account deleted.")
    name, address = person.name, person.email
    done = delete_account(session, person, now=app.now())
    sign_out()
    currency = app.rules.currency
    summary = _("Flattrs withdrawn from this month: %(withdrawn)s. Wallet refunded:"
                " %(refund)s. Earnings paid out: %(paid)s.",
                withdrawn=done.withdrawn_flattrs, refund=amount(done.refunded_cents, currency),
                paid=amount(done.paid_out_cents, currency))
    if address:
        mail.account_deleted(address, name, summary)
    logs.event("auth.account_deleted", person=person.id, as_=anonymous_name(person.id))
    flash(_("Your account is deleted. %(summary)s", summary=summary), "ok")
    return redirect(url_for("pages.home"), code=303)


@bp.app_context_processor
def _minimum_budget() -> dict[str, str]:
    """The sign-up form's first budget starts at the minimum (every page may include it)."""
    rules = flattr_app().rules
    return {"min_budget": format_cents(rules.min_monthly_budget),
            "min_budget_amount": amount(rules.min_monthly_budget, rules.currency)}
