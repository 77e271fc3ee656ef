"""Connecting X and Facebook: the redirect out, the callback back in, disconnect, triggers.

The OAuth `state` (and X's PKCE verifier) are kept server-side in `oauth_states`, bound to
the signed-in person and spent exactly once; the state is committed as spent before the
code is exchanged, so a replayed callback finds nothing, even if the exchange failed.
`purpose` is `connect` (poll this account for flattrs) or `claim` (prove that you are this
creator: claim its identity and the escrow waiting for it).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue

from bots import oauth as networks
from bots.oauth import OAuthFailed
from config.settings import FACEBOOK_TRIGGERS, X_TRIGGERS
from core.errors import AlreadyClaimed
from core.money import format_cents
from core.things import claim
from runtime import logs
from web import store
from web.context import commit, db_session, flattr_app
from web.security import current_person, login_required

bp = Blueprint("accounts", __name__)

NETWORK_NAMES = {"x": "X", "facebook": "Facebook"}
PURPOSES = ("connect", "claim")
ALL_TRIGGERS = {"x": ("likes", "reposts", "explicit"), "facebook": ("page_likes", "shared_links")}
assert set(ALL_TRIGGERS["x"]) == X_TRIGGERS and set(ALL_TRIGGERS["facebook"]) == FACEBOOK_TRIGGERS


def callback_url(network: str) -> str:
    base = flattr_app().settings.web_base_url
    path = url_for("accounts.callback", network=network)
    return base.rstrip("/") + path if base else url_for("accounts.callback", network=network,
                                                         _external=True)


def enabled_triggers(network: str) -> frozenset[str]:
    settings = flattr_app().settings
    return settings.x_triggers if network == "x" else settings.facebook_triggers


@bp.post("/connect/<network>")
@login_required
def connect(network: str) -> ResponseReturnValue:
    if network not in NETWORK_NAMES:
        abort(404)
    purpose = request.form.get("purpose", "connect")
    if purpose not in PURPOSES:
        abort(400)
    app, person = flattr_app(), current_person()
    assert person is not None
    session, settings = db_session(), app.settings
    store.forget_old_states(session, now=app.now())
    if network == "x":
        url, state, verifier = networks.x_authorization(settings, callback_url("x"))
        store.new_state(session, person_id=person.id, network="x", purpose=purpose,
                        now=app.now(), state=state, verifier=verifier)
    else:
        state = store.new_state(session, person_id=person.id, network="facebook",
                                purpose=purpose, now=app.now())
        url = networks.facebook_authorization(settings, callback_url("facebook"), state,
                                              claim=purpose == "claim")
    return redirect(url, code=303)


@bp.get("/callback/<network>")
@login_required
def callback(network: str) -> ResponseReturnValue:
    if network not in NETWORK_NAMES:
        abort(404)
    app, person = flattr_app(), current_person()
    assert person is not None
    session = db_session()
    try:
        row = store.take_state(session, request.args.get("state", ""), person_id=person.id,
                               network=network, now=app.now())
    except store.BadState:
        logs.event("oauth.callback_rejected", network=network, person=person.id,
                   reason="state unknown, spent, expired or foreign")
        raise
    purpose, verifier = row.purpose, row.code_verifier
    commit()  # the state is spent now, whatever the network says next
    back = "pages.creator" if purpose == "claim" else "pages.me"
    if request.args.get("error") or not request.args.get("code"):
        flash(f"{NETWORK_NAMES[network]} was not connected: you cancelled.", "error")
        return redirect(url_for(back), code=303)
    code = request.args["code"]
    try:
        if network == "x":
            tokens = networks.x_exchange(app.settings, callback_url("x"), code, verifier or "",
                                         app.now())
            identity = networks.x_identity(app.settings, tokens.access_token)
        else:
            tokens, identity = networks.facebook_exchange(app.settings, callback_url("facebook"),
                                                          code, app.now())
    except OAuthFailed as exc:
        logs.event("oauth.exchange_failed", network=network, person=person.id, error=str(exc))
        abort(400, description=str(exc))
    shown = f"@{identity.handle}" if network == "x" and identity.handle else identity.handle
    if purpose == "claim":
        # Ask Facebook for the person's Pages before the claims open a transaction.
        pages = _managed_pages(tokens.access_token) if network == "facebook" else None
        result = claim(session, app.rules, person, store.claim_value(network, identity),
                       now=app.now())
        logs.event("oauth.claimed", network=network, person=person.id, identity=result.value,
                   released_cents=result.released_cents)
        flash(f"You are {shown} on {NETWORK_NAMES[network]}: claimed {result.value} "
              f"({result.things} things, {format_cents(result.released_cents)} "
              f"{app.rules.currency} released from escrow).", "ok")
        if pages is not None:
            _claim_facebook_pages(pages)
    else:
        account = store.link(session, app.settings, person_id=person.id, network=network,
                             identity=identity, tokens=tokens, now=app.now())
        logs.event("oauth.connected", network=network, person=person.id, account=account.id,
                   expires_at=tokens.expires_at, scopes=" ".join(tokens.scopes))
        flash(f"Connected {NETWORK_NAMES[network]} as {shown}.", "ok")
    return redirect(url_for(back), code=303)


def _managed_pages(access_token: str) -> list[networks.ManagedPage] | None:
    """The Pages the person manages on Facebook; None (and a note) when it will not say."""
    person = current_person()
    assert person is not None
    try:
        return networks.facebook_pages(flattr_app().settings, access_token)
    except OAuthFailed as exc:
        logs.event("oauth.pages_failed", network="facebook", person=person.id, error=str(exc))
        flash("Facebook did not list the Pages you manage: claim again to retry.", "error")
        return None


def _claim_facebook_pages(pages: list[networks.ManagedPage]) -> None:
    """Claim every Page the person manages (`facebook:page:ID`: Page likes are held in
    escrow for the Page, not for the person). A Page someone else claimed is reported, not
    taken; the Page access tokens are never kept."""
    app, person, session = flattr_app(), current_person(), db_session()
    assert person is not None
    for page in pages:
        value = f"facebook:page:{page.page_id}"
        shown = f"{page.name} ({value})" if page.name else value
        try:
            result = claim(session, app.rules, person, value, now=app.now())
        except AlreadyClaimed:
            logs.event("oauth.page_claim_refused", network="facebook", person=person.id,
                       identity=value)
            flash(f"Your Page {shown} is already claimed by someone else: "
                  "ask an operator if it is yours.", "error")
            continue
        logs.event("oauth.claimed", network="facebook", person=person.id, identity=value,
                   released_cents=result.released_cents)
        flash(f"Claimed your Page {shown} ({result.things} things, "
              f"{format_cents(result.released_cents)} {app.rules.currency} released from "
              "escrow).", "ok")


@bp.post("/accounts/<int:account_id>/disconnect")
@login_required
def disconnect(account_id: int) -> ResponseReturnValue:
    person = current_person()
    assert person is not None
    account = store.disconnect(db_session(), person.id, account_id)
    logs.event("oauth.disconnected", network=account.network, person=person.id,
               account=account_id)
    flash(f"Disconnected {NETWORK_NAMES.get(account.network, account.network)} "
          f"{account.handle or account.external_user_id}.", "ok")
    return redirect(url_for("pages.me"), code=303)


@bp.post("/accounts/<int:account_id>/triggers")
@login_required
def triggers(account_id: int) -> ResponseReturnValue:
    person = current_person()
    assert person is not None
    account = store.person_account(db_session(), person.id, account_id)
    chosen = set(request.form.getlist("trigger")) & enabled_triggers(account.network)
    if account.network == "x":
        chosen.add("explicit")  # an explicit request is always honoured
    account.triggers = ",".join(sorted(chosen))
    flash("Saved which activity flattrs.", "ok")
    return redirect(url_for("pages.me"), code=303)
