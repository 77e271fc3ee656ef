"""Operators: every person and linked account at a glance, top-ups, URL-prefix claims.

URL-prefix claims are granted by an operator after checking that the creator controls the
site (the web app has no automatic site verification yet); identity claims need no
operator: a creator proves them by connecting the account.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from sqlalchemy import select

from bots import registry
from core import people
from core.models import Person, SocialAccount
from core.money import parse_cents
from core.things import claim
from core.users import end_sessions, unpause
from jobs.shared import month_usage
from runtime import logs
from web import queries
from web.context import db_session, flattr_app
from web.i18n import _, ngettext
from web.names import amount
from web.security import admin_required

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/")
@admin_required
def index() -> ResponseReturnValue:
    session = db_session()
    persons = list(session.execute(select(Person).order_by(Person.name).limit(500)).scalars())
    accounts = list(session.execute(select(SocialAccount).order_by(SocialAccount.id)).scalars())
    wallets = {p.id: people.wallet_balance(session, p.id) for p in persons}
    owners = queries.person_names(session, (a.person_id for a in accounts))
    return render_template("admin.html", persons=persons, accounts=accounts, wallets=wallets,
                           owners=owners, names=queries.names_of(session,
                                                                  (a.identity for a in accounts)),
                           webhooks=_webhooks(), usage=month_usage(session, flattr_app()))


def _webhooks() -> list[dict[str, object]]:
    """Where each network's webhooks must point, for the operator to paste in."""
    settings = flattr_app().settings
    return [{"name": spec.name, "display_name": spec.display_name,
             "verify_token": hook.verify_token(settings) if hook.verify_token else None,
             "callbacks": hook.signed_user is not None}
            for spec in registry.all_networks() if (hook := spec.webhook) is not None]


@bp.post("/topup")
@admin_required
def topup() -> ResponseReturnValue:
    app, session = flattr_app(), db_session()
    person = people.find_person(session, request.form.get("name", ""))
    cents = parse_cents(request.form.get("amount", ""))
    people.topup(session, person, cents, now=app.now())
    flash(_("Topped up %(name)s by %(amount)s.", name=person.name,
            amount=amount(cents, app.rules.currency)), "ok")
    return redirect(url_for("admin.index"), code=303)


@bp.post("/claim")
@admin_required
def grant_claim() -> ResponseReturnValue:
    app, session = flattr_app(), db_session()
    person = people.find_person(session, request.form.get("name", ""))
    result = claim(session, app.rules, person, request.form.get("value", ""), now=app.now())
    flash(ngettext("%(name)s now holds %(value)s (%(num)d thing, %(amount)s released).",
                   "%(name)s now holds %(value)s (%(num)d things, %(amount)s released).",
                   result.things, name=person.name, value=result.value,
                   amount=amount(result.released_cents, app.rules.currency)), "ok")
    return redirect(url_for("admin.index"), code=303)


@bp.post("/sessions/end")
@admin_required
def end_sessions_of() -> ResponseReturnValue:
    """An operator's revoke: every web session of the person ends, wherever it is."""
    person = people.find_person(db_session(), request.form.get("name", ""))
    end_sessions(db_session(), person)
    logs.event("auth.sessions_revoked", person=person.id, by="operator")
    flash(_("Every session of %(name)s has ended.", name=person.name), "ok")
    return redirect(url_for("admin.index"), code=303)


@bp.post("/sign-ins/unpause")
@admin_required
def unpause_sign_ins() -> ResponseReturnValue:
    """Forget a name's recent failed sign-ins (after checking who asks)."""
    name = request.form.get("name", "")
    person = people.find_person(db_session(), name)
    cleared = unpause(db_session(), person.name)
    flash(ngettext("Sign-ins for %(name)s are open again (%(num)d failure forgotten).",
                   "Sign-ins for %(name)s are open again (%(num)d failures forgotten).",
                   cleared, name=person.name), "ok")
    return redirect(url_for("admin.index"), code=303)
