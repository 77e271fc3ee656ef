"""The person page (budget, wallet, accounts, triggers, flattrs, statements) and the creator
page (claims, things, earnings, escrow, notification preferences, opt-out)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bots import registry
from core import flattring, inputs, people
from core.accounts import label as account_label
from core.errors import UserError
from core.models import Claim, OptOut
from core.money import Amount, parse_cents
from core.periods import next_period, parse_period, period_of
from web import queries, words
from web.accounts import enabled_triggers, linkable
from web.confirm import ask_first
from web.context import db_session, flattr_app
from web.i18n import _, month
from web.names import amount
from web.security import current_person, login_required, password_ok
from web.settings_pages import ask_to_confirm

bp = Blueprint("pages", __name__)

CHANNELS = words.CHANNELS


def _me():  # type: ignore[no-untyped-def]
    person = current_person()
    assert person is not None  # login_required ran first
    return person


@bp.get("/")
def home() -> ResponseReturnValue:
    if current_person() is not None:
        return redirect(url_for("pages.me"))
    return render_template("home.html")


@bp.get("/me")
@login_required
def me() -> ResponseReturnValue:
    app, person, session = flattr_app(), _me(), db_session()
    period = period_of(app.now())
    accounts = queries.linked_accounts(session, person.id)
    flattrs = queries.open_flattrs(session, person.id)
    return render_template(
        "me.html", person=person, period=period, next_period=next_period(period),
        wallet=people.wallet_balance(session, person.id),
        budget=people.budget_for(session, person.id, period),
        next_budget=people.budget_for(session, person.id, next_period(period)),
        accounts=accounts, networks=linkable(), **_network_views(),
        active={a.id: _active_triggers(a.network, a.triggers) for a in accounts},
        flattrs=flattrs, names=queries.names_of(session, (f.identity for f in flattrs)),
        statements=queries.statements(session, person.id),
        sandbox=app.settings.networks == "sandbox", status_label=account_label,
        joined_this_month=period_of(person.created_at) == period,
    )


def _network_views() -> dict[str, dict]:
    """What the pages show of every registered network, by name."""
    specs = registry.all_networks()
    return {"network_names": {n.name: n.display_name for n in specs},
            "all_triggers": {n.name: n.trigger_names for n in specs},
            "enabled": {n.name: enabled_triggers(n.name) for n in specs},
            "always_on": {n.name: n.always_on for n in specs}}


def _active_triggers(network: str, stored: str | None) -> frozenset[str]:
    enabled = enabled_triggers(network)
    if stored is None:
        return enabled
    return frozenset(t for t in stored.split(",") if t) & enabled


@bp.post("/me/budget")
@login_required
def set_budget() -> ResponseReturnValue:
    app = flattr_app()
    cents = parse_cents(request.form.get("amount", ""))
    effective = people.set_budget(db_session(), app.rules, _me(), cents, now=app.now())
    flash(_("From %(month)s on, your monthly budget is %(amount)s.", month=month(effective),
            amount=amount(cents, app.rules.currency)), "ok")
    return redirect(url_for("pages.me"), code=303)


@bp.post("/me/topup")
@login_required
def topup() -> ResponseReturnValue:
    """Test money, in sandbox mode only: live top-ups come from a payment provider."""
    app = flattr_app()
    if app.settings.networks != "sandbox":
        abort(404)
    cents = parse_cents(request.form.get("amount", ""))
    if cents > 100_000:
        raise UserError("test top-ups are limited to %(max)s at a time",
                        max=Amount(100_000, app.rules.currency))
    balance = people.topup(db_session(), _me(), cents, now=app.now())
    flash(_("Added %(amount)s of test money: your wallet holds %(balance)s.",
            amount=amount(cents, app.rules.currency),
            balance=amount(balance, app.rules.currency)), "ok")
    return redirect(url_for("pages.me"), code=303)


@bp.post("/me/announce")
@login_required
def announce() -> ResponseReturnValue:
    person = _me()
    person.announce_flattrs = request.form.get("announce") == "on"
    db_session().merge(person)
    flash(_("Your flattrs will be announced from your own account, in one post a day.")
          if person.announce_flattrs else _("Your flattrs will not be announced."), "ok")
    return redirect(url_for("pages.me"), code=303)


@bp.post("/me/flattrs/<int:flattr_id>/withdraw")
@login_required
def withdraw(flattr_id: int) -> ResponseReturnValue:
    app = flattr_app()
    asked = ask_first(title=_("Withdraw this flattr?"),
                      consequence=_("It will not get a share of this month's budget, and it "
                                    "cannot be given back: flattring the same thing again "
                                    "this month is refused as already flattred."),
                      button=_("Withdraw it"), back="pages.me")
    if asked is not None:
        return asked
    if flattring.withdraw(db_session(), _me().id, flattr_id, now=app.now()):
        flash(_("Withdrawn: it will not get a share of this month's budget."), "ok")
    else:
        flash(_("That flattr cannot be withdrawn any more (its month is closing)."), "error")
    return redirect(url_for("pages.me"), code=303)


@bp.get("/me/statements/<period>")
@login_required
def statement(period: str) -> ResponseReturnValue:
    period = parse_period(period)
    session = db_session()
    lines = queries.statement_lines(session, _me().id, period)
    if not lines:
        abort(404)
    return render_template("statement.html", period=period, lines=lines,
                           total=sum(line["cents"] for line in lines),
                           names=queries.names_of(session, (line["identity"] for line in lines)))


@bp.get("/creator")
@login_required
def creator() -> ResponseReturnValue:
    app, person, session = flattr_app(), _me(), db_session()
    claims = queries.claims(session, person.id)
    claimed = {c.value for c in claims}
    candidates = [a.identity for a in queries.linked_accounts(session, person.id)
                  if a.identity not in claimed]
    things = queries.things(session, person.id)
    shown = [*claimed, *candidates, *(t["identity"] for t in things)]
    return render_template(
        "creator.html", person=person, claims=claims, things=things,
        names=queries.names_of(session, shown),
        earnings=queries.earnings(session, person.id),
        escrow=queries.escrow_waiting(session, candidates, app.now()),
        channels=CHANNELS, chosen=set(filter(None, person.notify_channels.split(","))),
        opted_out=queries.opted_out(session, person.id), networks=linkable(),
        network_names={n.name: n.display_name for n in registry.all_networks()},
    )


@bp.post("/creator/notifications")
@login_required
def notifications() -> ResponseReturnValue:
    person = _me()
    chosen = [c for c in request.form.getlist("channel") if c in CHANNELS]
    email = inputs.email(request.form.get("email"))
    if "email" in chosen and email is None:
        raise UserError("give an e-mail address to be told by e-mail")
    if email and email != person.email:  # a new address counts once it is confirmed
        if not password_ok(person, request.form.get("password", "")):
            raise UserError("To change your e-mail address, give your current password.")
        ask_to_confirm(person, email)
    person.notify_channels = ",".join(chosen)
    person.digest_enabled = request.form.get("digest") == "on"
    db_session().merge(person)
    flash(_("Saved your notification preferences."), "ok")
    return redirect(url_for("pages.creator"), code=303)


@bp.post("/creator/opt-out")
@login_required
def opt_out() -> ResponseReturnValue:
    """No message from us, ever, to this person or to any identity they claimed."""
    asked = ask_first(title=_("Never hear from us again?"),
                      consequence=_("We will never send you a message again, on any channel, "
                                    "nor to any identity you claimed: not a statement, not a "
                                    "notice about money waiting for you. This is for good; it "
                                    "cannot be undone, even by an operator."),
                      button=_("Yes, never message me again"), back="pages.creator")
    if asked is not None:
        return asked
    app, person, session = flattr_app(), _me(), db_session()
    subjects = [f"person:{person.id}", *session.execute(
        select(Claim.value).where(Claim.person_id == person.id, Claim.kind == "identity")
    ).scalars()]
    for subject in subjects:
        if session.get(OptOut, subject) is None:
            session.add(OptOut(subject=subject, created_at=app.now()))
    person.notify_channels = ""
    person.digest_enabled = False
    session.merge(person)
    flash(_("You will not get any message from us again."), "ok")
    return redirect(url_for("pages.creator"), code=303)
